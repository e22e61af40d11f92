language-name = English (UK)
site-name = Reachline
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
