language-name = English (UK)
site-name = Reachline
site-description = Confidential, anonymous help for anyone worried about their own sexual thoughts or behaviour towards children, or about someone else's: self-help, live chat, secure messages and callbacks.
skip-to-content = Skip to main content
quick-exit = Quick exit
quick-exit-hint = or press Esc
quick-exit-label = Leave this site quickly
nav-label = Main
nav-home = Home
nav-self-help = Self-help
nav-get-help = Get help now
nav-someone-else = Worried about someone else
nav-under-18 = If you are under 18
nav-my-answers = My answers
nav-the-law = The law and what happens after arrest
breadcrumb-label = You are here
footer-confidential = This service is confidential and anonymous. We do not record IP addresses.
footer-confidentiality-link = Confidentiality and its limits
language-label = Language
language-change = Change

home-title = Worried about your sexual thoughts or behaviour towards children?
home-lead = You are not alone, and it is never too late to stop. Confidential help is here for you, without giving your name.
home-self-heading = Work through it in your own time
home-self-text = Self-help modules explain what is happening and help you make a plan to stop. No account is needed.
home-self-link = Start self-help
home-talk-heading = Talk to someone
home-talk-text = Our practitioners listen without judging. Chat, send a secure message or call.
home-talk-link = Get help now
home-other-heading = Worried about someone else?
home-other-text = Help for family and friends, and for young people worried about their own thoughts or behaviour.
home-confidential-heading = Confidential, not secret
home-confidential-text = You do not need to tell us who you are. If you tell us something that means a child, or someone else, is at risk, we may have to pass it on.
area-heading = Where are you? (optional)
area-help = Telling us your police force area helps local services plan. It is not linked to anything you do here.
area-label = Your area
area-prefer-not = I'd rather not say
area-submit = Tell us
area-thanks = Thank you. Your area has been counted, and nothing else about you.

modules-title = Self-help modules
modules-lead = Read at your own pace, in any order. The exercises are private: answers are encrypted and you can delete them at any time.
modules-progress-hint = Answered some exercises? Save them with a return code to come back later:
module-minutes = { $minutes ->
    [one] About { $minutes } minute to read
   *[other] About { $minutes } minutes to read
}
audience-self = For anyone worried about their own thoughts or behaviour
audience-someone-else = For family and friends
audience-under-18 = For young people under 18
audience-everyone = For everyone
module-chapters = Chapters
module-start = Start reading
chapter-of = Chapter { $number } of { $total }
pager-label = Chapters
pager-previous = Previous chapter
pager-next = Next chapter
pager-all-modules = All modules

exercise-label = Exercise
exercise-note = Anything you want to add (optional)
exercise-private = Only you can see your answers. They are encrypted, and you can delete them at any time.
exercise-submit = Save my answer
exercise-saved = Your answer has been saved for this visit.
exercise-save-progress = Save your progress with a return code
exercise-too-long = That answer is too long: please keep it under { $max } characters. Your text is still below.

get-help-code-link = Get or use a return code
page-version = Version { $version }

progress-title = My answers
progress-empty = You have not answered any exercises in this browser yet.
progress-intro = You have answered:
progress-save-heading = Save my progress
progress-save-text = Get a return code to come back to your answers later, on this or another device. Nothing else identifies you.
progress-save-button = Save my progress
progress-saved-already = Your answers are saved under the return code you were shown. We cannot show it again. If you have lost it, you can get a new code: the old one will stop working.
progress-save-new = Get a new code
progress-resume-heading = Continue with my code
progress-resume-text = Have a return code? Enter it to see your saved answers in this browser.
progress-resume-link = Continue with my code
progress-delete-heading = Delete my answers
progress-delete-text = Remove everything you have written here, for good.
progress-delete-link = Delete my answers
progress-resumed = Welcome back. Your saved answers are here.

code-title = Your return code
code-intro = Write this code down, or keep it somewhere private. It is the only way back to your answers.
code-help = Letters and numbers only: capitals do not matter, and you can leave out the dashes.
code-once = We will show this code only once.
code-no-recovery = We do not keep the code, so we cannot send it to you or look it up.
code-expiry = Your answers are deleted if the code is not used for a year.
code-continue = Continue

resume-title = Continue with my code
resume-intro = Enter the return code you were given. Your answers will open in this browser.
resume-label = Return code
resume-hint = For example ABCD-EFGH-JKMN-PQRS-TVWX
resume-submit = Continue
resume-not-found = We could not find saved answers for that code. Please check it and try again. Codes stop working after a year without use.
resume-code-length = A return code has 20 letters and numbers. Please check it and try again.
resume-code-symbol = A return code uses only letters and numbers. Please check it and try again.
resume-code-check = That code does not look right: one of the letters or numbers may be mistyped. Please check it and try again.

delete-title = Delete my answers
delete-confirm-text = This deletes every answer saved in this browser, and under your return code if you have one. It cannot be undone.
delete-confirm-button = Yes, delete my answers
delete-cancel = No, go back
delete-done = Your answers have been deleted. Your return code no longer works.

error-not-found-title = Page not found
error-not-found-body = We could not find that page. It may have moved. You can go to the home page, the self-help modules or get help now.
error-too-large-title = That was too much to send
error-too-large-body = What you sent was too large for us to accept. Nothing was saved. Please send something shorter.
error-bad-form-title = Something was not quite right
error-bad-form-body = We could not read what was sent. Please go back and try again.
error-cross-site-title = This form must be sent from our site
error-cross-site-body = For your safety we only accept forms sent from pages of this site. Please go back and try again.
error-throttled-title = Please wait a minute
error-throttled-body = Many codes have been tried in the last minute, so we are pausing for a moment to keep everyone's answers safe. Please try again in a minute.
error-busy-title = We are very busy
error-busy-body = Please try again in a moment. Nothing has been lost.
error-server-title = Something went wrong
error-server-body = Sorry, something went wrong on our side. Nothing you wrote has been shared. Please try again.
error-method-title = That did not work
error-method-body = This page cannot be used that way. Please go back and try again.

helpline-heading = When we are open
helpline-open-now = We are open now. You can chat with a practitioner.
helpline-wait-none = A practitioner is free to talk now.
helpline-wait-minutes = The wait to chat is about { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
  } right now.
helpline-closed-now = We are closed now.
helpline-opens-today = We open again today at { $time }.
helpline-opens-tomorrow = We open again tomorrow at { $time }.
helpline-opens-day = We open again on { $day } at { $time }.
helpline-opens-date = We open again on { $date } at { $time }.
helpline-opens-unknown = No opening times are set at the moment.
# What callers hear on the phone line (TwiML <Say>): plain sentences, read aloud.
phone-closed = Thank you for calling. The helpline is closed now. { $next } You can get help at any time on our website, { $site }: self-help you can do alone, a secure message, or a request for us to call you back. Everything is confidential.
phone-welcome = Thank you for calling. Everything you say is confidential and you do not have to give your name. A practitioner will answer as soon as they can.
phone-waiting = You are number { $place } in the queue. The wait is about { $minutes } minutes. Please stay on the line.
phone-connected = You are through to a practitioner now.
phone-waiting-shortly = You are number { $place } in the queue. A practitioner will answer shortly. Please stay on the line.
helpline-talk-heading = Talk to us now
helpline-talk-text = You can chat with one of our practitioners by typing. You do not have to give your name.
chat-start-link = Start a chat
helpline-phone = Phone:
helpline-out-of-hours = Outside these times you can leave a secure message at any time, or use the self-help modules.
helpline-reply-days = { $days ->
    [one] We aim to reply to secure messages within { $days } day.
   *[other] We aim to reply to secure messages within { $days } days.
}
hours-days = { $from } to { $to }
hours-line = { $days }, { $open } to { $close }
hours-zone = Times are in the { $zone } time zone.
day-mon = Monday
day-tue = Tuesday
day-wed = Wednesday
day-thu = Thursday
day-fri = Friday
day-sat = Saturday
day-sun = Sunday

area-unknown = Unknown area

## Practitioner console
console-name = Reachline console
console-nav-label = Console
console-nav-home = Overview
console-nav-contacts = Contacts
console-nav-concerns = Safeguarding concerns
console-nav-reach = Reach figures
console-nav-audit = Audit log
console-nav-lists = Deterrence lists
console-calls-queue = Calls waiting
console-calls-wrapup = Calls you answered, waiting for your wrap-up
console-calls-answered = Answered
console-calls-talk = Length
console-calls-wrap-up = Wrap up
console-calls-wrap-up-title = Wrap up the call you answered
console-calls-queue-empty = No caller is waiting.
console-calls-queue-caption = Callers waiting on the phone line, longest first
console-calls-take = Take the next call
console-calls-take-hint = Your phone or browser client rings; when you answer, you are put through to the caller who has waited longest.
console-calls-ringing = Your phone is ringing: answer it to talk to the caller.
console-calls-not-configured = The phone line is not set up to ring practitioners (telephony settings).
console-calls-none-waiting = No caller is waiting now.
console-calls-provider-failed = The telephony provider could not be reached; nobody was rung. Please try again.
console-nav-staff = Staff accounts
console-sign-out = Sign out
console-sign-out-everywhere = Sign out on every device
console-sign-in-title = Sign in
console-sign-in = Sign in
console-username = Username
console-password = Password
console-code = Authenticator code
console-code-hint = The 6-digit code from your authenticator app, or one of your recovery codes.
console-sign-in-wrong = The username, password or code is not right. Please try again.
console-sign-in-codes-paused = Your password was right, but too many wrong codes have been tried, so codes for this account are paused until { $until }. If you did not try them, someone else knows your password: tell an administrator now.
console-sign-in-busy = The service is busy checking sign-ins. Please try again in a moment.
console-enrol-title = Set up your account
console-enrol-intro = You are setting up the account
console-enrol-step-password = 1. Choose a password
console-password-rules = At least 12 characters. A few unrelated words make a strong password that is easy to remember.
console-new-password = New password
console-new-password-again = New password again
console-enrol-step-totp = 2. Add an authenticator app
console-enrol-scan = Scan this code with your authenticator app, or type the key below into it.
console-enrol-qr-label = QR code for your authenticator app
console-enrol-secret = Key:
console-enrol-code = The 6-digit code your app now shows
console-enrol-submit = Finish setting up
console-enrol-wrong-code = That code is not right. Check the time on your phone, then enter the code your app shows now.
console-password-short = Use at least 12 characters.
console-password-long = Use at most 256 characters.
console-password-guessable = This password is too common or easy to guess. Try a few unrelated words.
console-password-mismatch = The two passwords are not the same.
console-recovery-title = Your recovery codes
console-recovery-intro = Keep these ten codes somewhere safe and private. Each works once, instead of an authenticator code, if you lose your phone. They will not be shown again.
console-recovery-low = You have fewer than three recovery codes left. Ask an administrator to reset your enrolment.
console-home-title = Overview
role-practitioner = Practitioner
role-supervisor = Supervisor
role-administrator = Administrator
role-analyst = Analyst
console-role = Role
console-areas = Areas
console-areas-hint = For analysts: police force area codes separated by commas, e.g. E23000015.
console-state = State
console-actions = Actions
console-staff-caption = Everyone with a console account
console-staff-active = Active
console-staff-invited = Invited, not yet set up
console-staff-disabled = Disabled
console-staff-change = Change
console-staff-disable = Disable
console-staff-enable = Enable
console-staff-reset = Reset set-up
console-staff-invite = Invite someone
console-staff-invite-button = Create account and link
console-staff-invited-link = Send this one-time link, privately, to
console-staff-link-once = It works once and expires. It will not be shown again.
console-staff-bad-username = A username has 3 to 40 letters, digits, dots, hyphens or underscores.
console-staff-bad-role = Choose a role.
console-staff-bad-areas = Areas must be police force area codes, such as E23000015, separated by commas.
console-staff-analyst-needs-areas = An analyst must be given at least one area.
console-staff-taken = That username is already used.
console-staff-not-yourself = You cannot do that to your own account.
console-audit-caption = Newest entries first
console-audit-when = When
console-audit-actor = Who
console-audit-action = Action
console-audit-object = Object
console-audit-detail = Detail
console-audit-filter = Filter
console-contacts-caption = Recent contacts
console-contact-title = Contact
console-contact-log-phone = Log a phone contact
console-contact-started = Started
console-contact-ended = Ended
console-contact-note = Note
console-contact-save = Save contact
console-contact-channel = Channel
console-contact-by = Recorded by
console-contact-bad-times = Enter when the contact started and ended; the end cannot be before the start.
console-text-too-long = That text is too long.
channel-phone = Phone
channel-chat = Chat
channel-message = Secure message
channel-callback = Callback
console-concerns-caption = Waiting for a decision first
console-concerns-none = No safeguarding concerns.
console-concern-title = Safeguarding concern
console-concern-raise = Raise a safeguarding concern
console-concern-raise-button = Raise concern
console-concern-category = Category
console-concern-facts = The facts
console-concern-contact = Contact
console-concern-raised-by = Raised by
console-concern-raised = Raised
console-concern-timeline = Timeline
console-concern-needs-facts = Write down the facts.
console-concern-needs-category = Choose a category.
console-concern-add-information = Add information
console-concern-information = Further information
concern-category-child-at-risk = A child named or identifiable at risk
concern-category-risk-to-person = An imminent risk to the person
concern-category-offence-in-progress = Disclosure of an offence in progress
concern-category-other = Other
concern-status-open = Waiting for a decision
concern-status-more-information = More information requested
concern-status-referred = Referred
concern-status-no-referral = No referral
concern-event-raised = Raised
concern-event-viewed = Viewed by a supervisor
concern-event-referred = Referred
concern-event-no-referral = Decided: no referral
concern-event-more-information-requested = More information requested
concern-event-information-added = Information added
concern-destination-police = Police
concern-destination-childrens-social-care = Children's social care
concern-destination-other = Another named destination
console-decision-title = Decide
console-decision-legend = Decision
console-decision-refer = Refer
console-decision-no-referral = No referral
console-decision-more = Ask for more information
console-decision-destination = Refer to
console-decision-destination-other = Name of the other destination (if "another")
console-decision-reason = Justification or reason
console-decision-submit = Record decision
console-decision-needs-choice = Choose a decision.
console-decision-needs-reason = Give the justification or reason.
console-decision-needs-destination = Name the destination.
console-decision-already = This concern has already been decided.
console-decision-other-supervisor = A supervisor other than you must decide this concern.
console-reach-intro = Counts only. No figure here can identify anyone.
console-reach-caption = First visits to the self-help site in { $year }, by area
console-reach-first-visits = First visits (devices)
console-error-signed-out-title = Please sign in
console-error-signed-out-body = Your session has ended. Please sign in again.
console-error-forbidden-title = Not available to your role
console-error-forbidden-body = Your role does not give access to this page. This attempt has been recorded.
console-error-csrf-title = This form has expired
console-error-csrf-body = For safety, the form could not be accepted. Go back, reload the page and try again.
console-error-too-large-title = Too much to send
console-error-too-large-body = What you sent was too large. Nothing was saved.
console-error-not-found-title = Not found
console-error-not-found-body = There is nothing here. It may have been removed.
console-text-unreadable = (This text could not be opened. It has not been lost; tell an administrator.)
console-error-throttled-title = Please wait a minute
console-error-throttled-body = There have been too many attempts of this kind in the last minute. Nothing was changed. Please try again in a minute.
console-error-busy-title = The service is busy
console-error-busy-body = The service is doing as much of this kind of work as it can right now. Nothing was changed. Please try again in a moment.
console-error-not-assigned-title = This conversation is with a colleague
console-error-not-assigned-body = Only the practitioner it is assigned to can open it, or a supervisor. Nothing was shown.
console-error-server-title = That did not work
console-error-server-body = Something went wrong on our side, so nothing was changed. Please try again; if it keeps happening, tell an administrator.
console-error-invalid-title = That could not be done
console-error-invalid-body = The request could not be done as asked. Go back, check the form and try again.
console-error-enrol-link-title = This link does not work
console-error-enrol-link-body = The link has expired or was already used. Ask an administrator for a new one.
console-error-two-person-title = Another supervisor must decide
console-error-two-person-body = A concern cannot be decided by the person who raised it. This attempt has been recorded.
helpline-closed-on = We are closed on:
console-nav-settings = Settings
console-nav-canned = Canned responses
console-settings-saved = Saved.
console-settings-save = Save
console-settings-hours = Opening hours
console-settings-weekly = Weekly schedule, one line each
console-settings-weekly-hint = For example: mon-thu 09:00-21:00, then fri 09:00-17:00 on the next line.
console-settings-holidays = Bank holidays (closed all day), one date per line
console-settings-holidays-hint = For example 2026-12-25.
console-settings-time-zone = Time zone
console-settings-retention = Retention
console-settings-saved-days = Saved self-help answers: days without use before deletion
console-settings-unsaved-hours = Unsaved self-help answers: hours before deletion
console-settings-note-days = Contact notes: days before deletion
console-settings-statement = Confidentiality statement
console-settings-statement-text = Statement (Markdown)
console-settings-statement-hint = Publishing creates a new version. Help-seekers see the newest; each contact records the version shown.
console-settings-statement-publish = Publish new version
console-settings-statement-versions = Published versions
console-settings-version = Version
console-statement-invalid = Write the statement (at most 20,000 characters).
console-canned-search = Search
console-canned-search-button = Search
console-canned-none = No canned responses found.
console-canned-edit = Edit
console-canned-delete = Delete
console-canned-new = New canned response
console-canned-title = Title
console-canned-body = Text
console-canned-placeholders = Placeholders: {"{"}opening_hours{"}"}, {"{"}time_zone{"}"}, {"{"}reply_days{"}"}, {"{"}practitioner{"}"}.
console-canned-invalid = A canned response needs a title (up to 200 characters) and text (up to 4,000).
page-version-published = Version { $version }, published { $date }

## Deterrence warnings (evidence-based wording: illegality, traceability, harm, help works)
warning-illegal-title = This search may be illegal
warning-illegal-message = Looking at, downloading or sharing sexual images of anyone under 18 is illegal. It is a serious crime, even if you only look.
warning-traceable-title = Searches like this can be traced
warning-traceable-message = Searching for sexual images of children can be traced, and people who do it are identified and arrested. Stop now.
warning-harm-title = Children are harmed by these images
warning-harm-message = Every sexual image of a child records real abuse, and each time it is viewed or shared that child is harmed again.
warning-talk-title = You have searched for this more than once
warning-talk-message = It sounds like this might be hard to stop on your own. You are not alone, and you can talk to someone today.
warning-help = Confidential, anonymous help works. You do not have to give your name.
warning-talk-help = Would you like to talk to someone confidentially? It is anonymous, and it can help you stop.
widget-question = Would you like to talk to someone confidentially?
widget-yes = Yes, show me how
widget-no = Not now
widget-chat = Chat or call anonymously
widget-message = Send a confidential message
widget-selfhelp = Read self-help in private
widget-not-now = That is fine. Help is here whenever you are ready.

## Secure messages (help-seeker side)
contact-write-title = Send a secure message
contact-write-lead = Write to us without giving your name. A practitioner will reply, and you come back with a return code to read it.
contact-statement-heading = Before you write
contact-statement-heading-chat = Before you start a chat
contact-statement-heading-callback = Before we call you
contact-statement-read = I have read how confidentiality works, and its limits
contact-statement-needed = Please confirm you have read how confidentiality works before sending.
contact-who = Who are you worried about? (optional)
contact-who-self = Myself
contact-who-someone-else = Someone else
contact-who-professional = I am a professional asking for advice
contact-age = Your age (optional)
contact-age-adult = 18 or over
contact-age-under-18 = Under 18
contact-area = Your area (optional)
contact-message = Your message
contact-message-hint = Up to { $max } characters. Please do not include names or anything that identifies a child. Links will be shown as plain text.
contact-existing-code = Already have a return code? (optional)
contact-existing-code-hint = If you saved self-help answers, you can use the same code. Otherwise we will give you a new one.
contact-send = Send
contact-message-empty = Please write a message before sending.
contact-message-too-long = That message is too long: please keep it under { $max } characters. Your text is still below.
contact-sent-title = Your message has been sent
contact-sent-body = Thank you for writing. A practitioner will read your message and reply.
contact-sent-code = Your return code: write it down. You need it to read our reply.
contact-sent-same-code = Use the return code you already have to come back and read our reply.
contact-under-18 = You told us you are under 18. There is help made for you too.
contact-see-thread = See your conversation
contact-thread-title = Your conversation
contact-you = You
contact-practitioner = Practitioner
contact-reply = Write back
contact-continue-title = Read replies to your messages
contact-continue-intro = Enter your return code to read our replies and write back.
contact-continue-link = Already wrote to us? Read our reply
contact-no-thread = We could not find messages for that code. Please check it and try again.

## Secure-message inbox and wrap-up (console)
console-nav-inbox = Secure messages
console-inbox-target = We aim to reply within { $days } days.
console-inbox-empty = No open message threads.
console-inbox-caption = Open threads, longest waiting first
console-inbox-waiting = Waiting
console-inbox-claimed = Claimed by
console-inbox-overdue = past the reply target
console-inbox-replied = Replied, waiting for the help-seeker
console-thread-title = Message thread
console-thread-help-seeker = Help-seeker
console-thread-statement = Confidentiality statement version
console-thread-claim = Claim this thread
console-thread-reply = Reply
console-thread-taken = Another practitioner has claimed this thread.
console-thread-closed = This thread is closed.
console-thread-gone = This thread no longer exists or its content has been deleted.
console-wrapup-title = Close with wrap-up
console-wrapup-concern = Concern (at least one)
console-wrapup-arrested = Arrested or under investigation?
console-wrapup-actions = Protective actions agreed
console-wrapup-signposting = Signposting
console-wrapup-first = First contact this year
console-wrapup-submit = Close and save the contact record
console-wrapup-needs-concern = Choose at least one concern.
wrapup-concern-viewing-images = Viewing indecent images of children online
wrapup-concern-sexual-communication = Sexual communication with a child
wrapup-concern-contact-offending = Worry about contact offending
wrapup-concern-ai-or-drawn-images = AI-generated or drawn images
wrapup-concern-someone-elses-behaviour = Someone else's behaviour
wrapup-concern-other = Other
wrapup-arrested-no = No
wrapup-arrested-arrested = Arrested
wrapup-arrested-under-investigation = Under investigation
wrapup-arrested-not-asked = Not discussed
wrapup-action-safety-plan = A personal safety plan
wrapup-action-device-changes = Changes to devices and internet use
wrapup-action-avoid-situations = Avoiding risky situations
wrapup-action-talk-to-someone = Telling someone they trust
wrapup-action-therapy = Seeking therapy or treatment
wrapup-signpost-self-help-modules = Self-help modules
wrapup-signpost-gp-or-mental-health = GP or mental health services
wrapup-signpost-samaritans = Samaritans
wrapup-signpost-legal-advice = Legal advice
wrapup-signpost-family-support = Support for family members
console-nav-reports = Reports
console-reports-year = Year
console-reports-period = Period
console-reports-period-month = Month
console-reports-period-quarter = Quarter
console-reports-period-year = Calendar year
console-reports-period-financial-year = Financial year (April to March)
console-reports-period-custom = Custom range of months
console-reports-period-hint = Choose the period, then its year, month or quarter (without JavaScript, press Filter after choosing the period to see its fields). A financial year starts in April of the year; a custom range uses the first and last month (YYYY-MM, at most 120 months).
console-reports-month = Month
console-reports-quarter = Quarter
console-reports-quarter-1 = January to March
console-reports-quarter-2 = April to June
console-reports-quarter-3 = July to September
console-reports-quarter-4 = October to December
console-reports-from = First month
console-reports-to = Last month
console-reports-dimension = Breakdown
console-reports-dimension-all = Every breakdown
console-reports-dimension-channel = Channel
console-reports-dimension-who = Who is asking
console-reports-dimension-concern = Concern
console-reports-dimension-age-group = Age group
console-reports-dimension-actions = Protective actions agreed
console-reports-dimension-signposting = Signposting
console-reports-dimension-channel-who-age = Channel, who is asking and age group
console-reports-charts = Charts
console-reports-trend-caption = Contacts (bars) and missed contacts (line) by month. The table below gives every value.
console-reports-channels-caption = People who sought help, by channel. The first table below gives every value.
console-reports-monthly = Contacts and missed contacts by month
console-reports-contacts = Contacts
console-reports-missed = Missed contacts
console-reports-tables = Tables
console-reports-funnel = Deterrence funnel
console-reports-funnel-none = No checks from partner platforms in this period.
console-reports-funnel-caption = Checks, warnings issued and help-link arrivals, by partner and campaign code
console-reports-funnel-note = Checks are counted per partner, before a message is chosen; warnings and arrivals per campaign code (partner and message). Not recorded by area.
console-reports-code = Campaign code
console-reports-partner = Partner
console-reports-checks = Checks
console-reports-warnings = Warnings issued
console-reports-arrivals = Help-link arrivals
console-reports-csv = Download as CSV
console-reports-total = Total
console-reports-method = Method

## Live chat (help-seeker)
chat-title = Chat with a practitioner
chat-lead = Talk to a trained practitioner now, in writing. You do not have to give your name. You can end the chat at any time.
chat-optional = These questions are optional. They help us answer well.
chat-start = Start a chat
contact-threads-full = We have more new messages waiting than we can read just now, so we could not send this one. What you wrote is still here: please copy it, try again later, or reach us by live chat or a callback from "Get help now".
callback-full = We have more callback requests waiting than we can make just now, so we could not take this one. What you gave is still here: please try again later, or send us a secure message or use live chat from "Get help now".
chat-full-lead = Everyone on our team is helping someone right now, and the chat queue is full. Please try again in a little while, or reach us another way: we read every message and we will call you back.
chat-closed-lead = Our chat is closed at the moment. You can still reach us.
chat-hours-heading = When chat is open
chat-closed-message = Send a secure message
chat-closed-message-text = Write to us now; we reply within a few days and you read our reply with a return code.
chat-closed-callback = Ask us to call you back
chat-closed-callback-text = Leave a phone number and the times that suit you. We delete the number after the call.
chat-closed-self-help = Use the self-help modules
chat-closed-self-help-text = Work through exercises at your own pace, at any time.
chat-status-waiting = You are number { $place } in the queue. Expected wait: about { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
  }. Please keep this page open.
chat-status-waiting-shortly = You are number { $place } in the queue. A practitioner will be with you shortly. Please keep this page open.
chat-status-active = You are talking with a practitioner.
chat-status-ended = This chat has ended. Thank you for talking to us.
chat-status-missed = We are sorry: nobody was free to answer in time. You can send a secure message or ask us to call you back.
chat-transcript = Chat messages
chat-no-messages = No messages yet.
chat-refreshing = This list updates every few seconds.
chat-stop-refreshing = Stop updating
chat-check-new = Check for new messages
chat-your-message = Your message
chat-send = Send
chat-end = End chat
chat-new = Start again
chat-after-heading = What next?
chat-after-text = You can carry on by secure message: we give you a return code to read replies.
chat-continue-by-message = Continue by secure message
chat-ask-callback = Ask us to call you back instead
chat-code-heading = Your return code
chat-code-text = Write this code down. You need it to read our replies; we cannot recover it.
chat-sending = sending…
chat-sent = sent
chat-delivered = delivered
chat-typing-practitioner = The practitioner is typing…
chat-typing-seeker = The help-seeker is typing…
chat-connection-lost = Connection lost: reconnecting. Your messages will be sent when it is back.
chat-flood = You are sending messages very quickly. Please wait a moment and send again; your text is still below.
chat-closed = This chat has ended, so the message was not sent. Your text is still below.
chat-server = Something went wrong and the message was not sent. Please try again.
chat-revoked-signed-out = You have been signed out, so this chat has closed on this device. Sign in again to carry on.
chat-revoked-not-yours = This chat is now with another practitioner, so it has closed on this page.
chat-revoked-server = The connection to this chat was lost. Reload the page to carry on.
chat-text-only = Only text can be sent in this chat.

## Live chat (practitioner)
console-nav-chats = Chats
console-chat-title = Chat
console-chat-availability = Your availability
console-chat-you-available = You are available for chats.
console-chat-you-away = You are away: new chats are not offered to you.
console-chat-go-available = Become available for chats
console-chat-go-away = Step away (take no new chats)
console-chat-limit = You can hold up to { $limit } chats at once.
console-chat-closed-now = The helpline is outside its opening hours now.
console-chat-notify-enable = Turn on notifications for new chats
console-chat-notify-title = New chat waiting
console-chat-notify-body = Someone is waiting in the chat queue.
console-chat-queue = Waiting
console-chat-queue-caption = Chats waiting, longest first
console-chat-queue-empty = Nobody is waiting.
console-chat-language = Language
console-chat-take = Take
console-chat-mine = Your chats
console-chat-mine-empty = You have no chats.
console-chat-gone = Someone else took that chat, or the help-seeker left.
console-chat-at-limit = You already have { $limit } chats: end or transfer one before taking another.
console-chat-state-waiting = waiting
console-chat-state-active = active
console-chat-state-ended = ended – wrap-up needed
console-chat-state-missed = missed
console-chat-state-closed = closed
console-chat-status-active = Active with { $name }.
console-chat-status-waiting = Waiting in the queue.
console-chat-status-missed = The help-seeker left the queue.
console-chat-status-ended = The chat has ended. Please complete the wrap-up.
console-chat-under-18 = under-18 pathway
console-chat-canned = Canned response
console-chat-canned-hint = Choosing one inserts it (Alt+1 to Alt+9 insert the first nine). Without JavaScript, send with an empty message to send the chosen response.
console-chat-end = End chat
console-chat-transfer-to = Transfer to
console-chat-transfer = Transfer
console-chat-transfer-pick = Choose a colleague to transfer to.
console-chat-transfer-failed = That colleague cannot take the chat now (away or at their limit).
console-chat-wrap-up = Wrap up this chat
console-chat-open = Open the chat
form-problem = There is a problem
callback-title = Ask us to call you
callback-lead = Leave a phone number and the times that suit you, and a practitioner will call you. You do not need to give your name.
callback-prefer-to-talk = Prefer to talk? Ask us to call you
callback-or-message = Prefer to write? Send a secure message
callback-phone = Your phone number
callback-phone-hint = For example 07700 900123 or +44 20 7946 0000. Digits, spaces, +, - and brackets are fine. We use it only to call you.
callback-phone-empty = Enter the phone number we should call.
callback-phone-characters = A phone number can only have digits, spaces, a + at the start, - and brackets.
callback-phone-length = A phone number has { $min } to { $max } digits: please check the number.
callback-windows = When can we call you? Choose at least one.
callback-windows-needed = Choose at least one time when we can call you.
callback-window-weekday-morning = Weekday mornings, 09:00 to 12:00
callback-window-weekday-afternoon = Weekday afternoons, 12:00 to 17:00
callback-window-weekday-evening = Weekday evenings, 17:00 to 21:00
callback-window-weekend = Weekends, 09:00 to 21:00
callback-send = Ask for a call
callback-sent-title = We will call you
callback-sent-body = Thank you. A practitioner will call you at one of these times, when we are open:
callback-sent-retry = If you miss our call, we will try again at another of these times.
callback-sent-deleted = We delete your number as soon as we have spoken to you. If we cannot reach you within { $days ->
    [one] { $days } day
   *[other] { $days } days
}, we delete your request and your number.
callback-sent-meanwhile = In the meantime, you can use the self-help modules
console-nav-callbacks = Callbacks
console-callbacks-retention = Requests we cannot reach within { $days ->
    [one] { $days } day
   *[other] { $days } days
} expire and their numbers are deleted.
console-callbacks-empty = No callbacks waiting.
console-callbacks-caption = Callback requests, longest waiting first
console-callback-title = Callback request
console-callback-status = Status
console-callback-status-pending = Waiting
console-callback-status-done = Done
console-callback-status-expired = Expired
console-callback-requested = Requested
console-callback-windows = Times that suit
console-callback-attempts = Attempts
console-callback-last-attempt = last
console-callback-phone = Phone number
console-callback-claim-hint = Claim this callback to see the number and call.
console-callback-claim = Claim and show the number
console-callback-no-answer-title = No answer
console-callback-no-answer = Record a failed attempt
console-callback-done-title = Call done: wrap-up
console-callback-done-hint = Saving records the contact and deletes the number.
console-callback-done = Save the contact and delete the number
console-callback-taken = Another practitioner has claimed this callback.
console-callback-closed = This callback is no longer waiting.
console-callback-claim-first = Claim this callback first.
console-wrapup-who = Who is asking
console-wrapup-age = Age group
console-wrapup-area = Area
console-wrapup-not-known = Not known
console-wrapup-concern-short = Concerns
console-yes = Yes
console-no = No
wrapup-who-self = About their own thoughts or behaviour
wrapup-who-someone-else = Worried about someone else
wrapup-who-professional = A professional asking for advice
wrapup-age-adult = 18 or over
wrapup-age-under-18 = Under 18
console-home-state = Your state
console-home-open = The helpline is open now.
console-home-closed = The helpline is closed now: chats are not offered to help-seekers.
console-home-work = Your work
console-home-chats-waiting = { $n ->
    [one] chat waiting in the queue
   *[other] chats waiting in the queue
}
console-home-longest = the longest for { $wait }
console-home-oldest = the oldest for { $wait }
console-home-my-chats = { $n ->
    [one] chat you hold now (at most { $limit })
   *[other] chats you hold now (at most { $limit })
}
console-home-wrapups = { $n ->
    [one] ended chat waiting for your wrap-up
   *[other] ended chats waiting for your wrap-up
}
console-home-threads-waiting = { $n ->
    [one] secure message thread waiting to be taken
   *[other] secure message threads waiting to be taken
}
console-home-my-threads = { $n ->
    [one] secure message thread you hold
   *[other] secure message threads you hold
}
console-home-callbacks = { $n ->
    [one] callback to make
   *[other] callbacks to make
}
console-home-concerns-to-decide = { $n ->
    [one] safeguarding concern waiting for a decision
   *[other] safeguarding concerns waiting for a decision
}
console-home-my-concerns = { $n ->
    [one] concern you raised, waiting for a supervisor's decision
   *[other] concerns you raised, waiting for a supervisor's decision
}
console-home-shift = Today's shift
console-home-since = Since { $time } today.
console-home-answered = { $n ->
    [one] chat answered
   *[other] chats answered
}
console-home-active = { $n ->
    [one] chat going on now
   *[other] chats going on now
}
console-home-missed = { $n ->
    [one] contact missed (left the queue or timed out)
   *[other] contacts missed (left the queue or timed out)
}
console-home-contacts = { $n ->
    [one] contact recorded
   *[other] contacts recorded
}
console-home-concerns-raised = { $n ->
    [one] concern raised
   *[other] concerns raised
}
console-home-team = Practitioners and supervisors
console-home-team-empty = No practitioner or supervisor accounts yet.
console-home-held = Chats held
console-home-available = Available
console-home-away = Away
console-home-health = The service's health
console-home-checks = Checks (as `reachline doctor` makes them)
console-home-check = Check
console-home-detail = Detail
console-home-level-ok = OK
console-home-level-warn = Attention
console-home-level-fail = Failing
console-home-lists = Deterrence lists in force
console-home-lists-none = No deterrence list is loaded: the gateway warns about nothing.
console-home-lists-caption = { $n ->
    [one] Lists in force: one entry in all
   *[other] Lists in force: { $n } entries in all
}
console-home-list-kind = Kind
console-home-list-name = Name
console-home-list-version = Version
console-home-lists-matches = Matches per list entry, shadow versions and wrong-warning reports
console-lists-intro = Counts only: no query, URL or image a partner sent is ever kept. A shadow version is matched and counted but never warns until it is promoted (reachline lists promote); a never-warn entry that matches an input overrides every match on it. Disable an entry that misfires: it stops warning at once.
console-lists-in-use = Versions in use
console-lists-state = State
console-lists-state-live = Live: warns
console-lists-state-shadow = Shadow: counted, never warns
console-lists-state-never = Never-warn: overrides matches
console-lists-entries = Entries
console-lists-days = Days back
console-lists-by-category = { $days ->
    [one] Matches per category today
   *[other] Matches per category over the last { $days } days
}
console-lists-by-entry = { $days ->
    [one] Matches per entry today
   *[other] Matches per entry over the last { $days } days (reported wrong most first)
}
console-lists-no-matches = No matches in this time.
console-lists-category = Category
console-lists-entry = Entry (list:line)
console-lists-action = Action
console-lists-outcome-warned = Warned
console-lists-outcome-suppressed = Suppressed by never-warn
console-lists-outcome-shadow = Shadow: would have warned
console-lists-outcome-shadow-suppressed = Shadow: suppressed
console-lists-outcome-overrode = Never-warn: overrode
console-lists-outcome-reported = Reported wrong by partners
console-lists-disable = Disable entry
console-lists-is-disabled = Disabled
console-lists-disabled-done = The entry is disabled: it no longer warns.
console-lists-disabled-already = That entry was already disabled.
console-home-retention = Saved self-help answers are kept { $saved } days, unsaved ones { $unsaved } hours, contact notes { $notes } days.
console-home-reports = Your reports
console-home-report = Report for { $period }
console-home-goto = Go to
console-not-given = not given
console-seeker-who = Who they are worried about
console-seeker-who-self = Themselves
console-seeker-who-someone-else = Someone else
console-seeker-who-professional = A professional asking for advice
console-seeker-age = Their age
console-seeker-age-adult = 18 or over
console-seeker-age-under-18 = Under 18
console-seeker-area = Their area
console-chat-wrapup-title = Chat
console-error-no-areas-title = No areas yet
console-error-no-areas-body = Your account has no areas yet, so there are no reports to show. An administrator gives an analyst their areas on the Staff accounts page (police force area codes, such as E23000015).
progress-nothing-to-save = There is nothing to save yet. When you answer an exercise in a module, you can save your answers here with a return code.
progress-to-modules = Go to the self-help modules
console-chat-held-active = Active
console-chat-held-ended = Ended: wrap-up to write
console-chat-held-waiting = waiting for your reply for { $wait }
console-chat-unread = { $n ->
    [one] 1 new message
   *[other] { $n } new messages
}
console-chat-all = All chats and the queue
