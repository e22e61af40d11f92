// Live chat over a WebSocket, for the help-seeker and the practitioner alike. Without this
// file the chat still works: the form posts and the transcript frame reloads itself.
//
// Every message has a client id; it stays "sending" until the server acknowledges it,
// which happens only after the message is stored. On reconnect the client asks for
// everything after the last sequence number it has and re-sends what was not
// acknowledged (the server stores a client id once), so nothing is lost or doubled.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var form = document.getElementById("compose");
  if (!root || !form || !window.WebSocket) { return; }
  var log = document.getElementById("chat-log");
  var frame = document.getElementById("chat-frame");
  var statusEl = document.getElementById("chat-status");
  var typingEl = document.getElementById("chat-typing");
  var errorEl = document.getElementById("chat-error");
  var box = form.querySelector("textarea");
  var label = {
    sending: form.getAttribute("data-sending"),
    sent: form.getAttribute("data-sent"),
    delivered: form.getAttribute("data-delivered"),
    typing: form.getAttribute("data-typing"),
    lost: form.getAttribute("data-error")
  };
  var status = root.getAttribute("data-status");
  var last = 0;              // highest sequence number shown
  var pending = {};          // cid -> {text, li}
  var order = [];            // cids in the order they were written
  var bySeq = {};            // seq -> li
  var socket = null;
  var retry = 500;
  var revoked = false;
  var typingTimer = null;
  var lastTyping = 0;
  var leaving = false;       // a form is taking us elsewhere: do not reload over it
  window.addEventListener("beforeunload", function () { leaving = true; });

  if (frame) { frame.hidden = true; frame.removeAttribute("src"); }
  log.hidden = false;
  root.classList.add("live");

  function cid() {
    var b = new Uint8Array(12);
    window.crypto.getRandomValues(b);
    return "j" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function line(who, when, text, mine) {
    var li = document.createElement("li");
    li.className = mine ? "from-you" : "from-us";
    var meta = document.createElement("p");
    meta.className = "meta";
    var name = document.createElement("span");
    name.textContent = who + (when ? " · " + when : "");
    meta.appendChild(name);
    var state = document.createElement("span");
    state.className = "state";
    meta.appendChild(state);
    var body = document.createElement("p");
    body.className = "user-text";
    body.textContent = text;   // always text: links in messages stay inert
    li.appendChild(meta);
    li.appendChild(body);
    log.appendChild(li);
    // The newest line is shown by scrolling the log itself, never the page: the page stays
    // where the reader left it (the menu and the details at the top on opening).
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function mark(li, what) {
    var s = li && li.querySelector(".state");
    if (s) { s.textContent = what ? " · " + what : ""; li.setAttribute("data-state", what || ""); }
  }

  function showError(text) {
    if (!errorEl) { return; }
    errorEl.textContent = text || "";
    errorEl.hidden = !text;
  }

  function send(obj) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function flush() {
    order.forEach(function (id) {
      var p = pending[id];
      if (p && !p.acked) { send({ t: "send", cid: id, text: p.text }); }
    });
  }

  function onFrame(m) {
    if (m.t === "msg") {
      if (m.seq <= last) { return; }
      last = m.seq;
      var mine = null;
      if (m.mine) {
        for (var i = 0; i < order.length; i++) {
          var p = pending[order[i]];
          if (p && p.seq === m.seq) { mine = p.li; }
        }
      }
      if (!mine) { mine = line(m.who, m.at, m.text, m.mine); mark(mine, m.mine ? label.sent : ""); }
      bySeq[m.seq] = mine;
      if (!m.mine) {
        send({ t: "seen", seq: m.seq });
        if (typingEl) { typingEl.textContent = ""; }
      }
    } else if (m.t === "ack") {
      var p2 = pending[m.cid];
      if (p2) {
        p2.acked = true;
        p2.seq = m.seq;
        mark(p2.li, label.sent);
        // Every message carries its time: the sender's own line gets it once it is stored.
        var name = p2.li.querySelector(".meta span");
        if (m.at && name && name.textContent.indexOf(" · ") < 0) { name.textContent += " · " + m.at; }
        if (m.seq <= last && bySeq[m.seq] && bySeq[m.seq] !== p2.li) {
          // The echo arrived first (another tab): keep one copy.
          log.removeChild(p2.li);
          p2.li = bySeq[m.seq];
        }
        bySeq[m.seq] = p2.li;
      }
    } else if (m.t === "delivered") {
      Object.keys(bySeq).forEach(function (s) {
        var li = bySeq[s];
        if (+s <= m.seq && li.className === "from-you") { mark(li, label.delivered); }
      });
    } else if (m.t === "typing") {
      if (typingEl) {
        typingEl.textContent = label.typing;
        window.clearTimeout(typingTimer);
        typingTimer = window.setTimeout(function () { typingEl.textContent = ""; }, 4000);
      }
    } else if (m.t === "status") {
      if (statusEl && statusEl.textContent !== m.text) { statusEl.textContent = m.text; }
      var was = status;
      status = m.status;
      // A chat that is over has nothing left to send: the practitioner's kept draft goes.
      if (draftKey && (status === "ended" || status === "missed" || status === "closed")) {
        try { window.sessionStorage.removeItem(draftKey); } catch (e) { /* nothing kept */ }
      }
      if (!leaving && was && was !== status && (status === "ended" || status === "missed" || status === "closed" || m.mine === false)) {
        // The page offers what comes next (a return code, a callback, wrap-up).
        window.location.reload();
      }
    } else if (m.t === "error") {
      if (m.cid && pending[m.cid]) {
        var p3 = pending[m.cid];
        if (p3.li.parentNode) { p3.li.parentNode.removeChild(p3.li); }
        delete pending[m.cid];
        order = order.filter(function (x) { return x !== m.cid; });
        if (!box.value) { box.value = p3.text; keepDraft(); }
      }
      showError(m.text || "");
    } else if (m.t === "reconnect") {
      if (socket) { socket.close(); }
    } else if (m.t === "revoked") {
      // Signed out, disabled, or the chat is someone else's now: no reconnecting.
      revoked = true;
      showError(m.text || "");
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + root.getAttribute("data-socket") + "?after=" + last);
    socket.onopen = function () { retry = 500; showError(""); flush(); };
    socket.onmessage = function (e) {
      try { onFrame(JSON.parse(e.data)); } catch (err) { /* ignore a bad frame */ }
    };
    socket.onclose = function () {
      socket = null;
      if (revoked || status === "ended" || status === "missed" || status === "closed") { return; }
      if (order.some(function (id) { return pending[id] && !pending[id].acked; })) { showError(label.lost); }
      window.setTimeout(connect, retry + Math.floor(Math.random() * 250));
      retry = Math.min(retry * 2, 10000);
    };
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = box.value.trim();
    if (!text) { box.focus(); return; }
    var id = cid();
    var li = line(root.getAttribute("data-you") || "", "", text, true);
    mark(li, label.sending);
    pending[id] = { text: text, li: li, acked: false, seq: 0 };
    order.push(id);
    box.value = "";
    keepDraft();
    showError("");
    send({ t: "send", cid: id, text: text });
    box.focus();
  });

  box.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit", { cancelable: true })); }
    }
  });
  box.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping > 2000) { lastTyping = now; send({ t: "typing" }); }
    keepDraft();
  });

  // A practitioner switching between their chats keeps each one's unsent draft (in this tab
  // only: sessionStorage ends with it). The help-seeker's side keeps nothing in the browser.
  var draftKey = root.getAttribute("data-side") === "staff" ? "draft:" + root.getAttribute("data-socket") : null;
  function keepDraft() {
    if (!draftKey) { return; }
    try {
      if (box.value) { window.sessionStorage.setItem(draftKey, box.value); } else { window.sessionStorage.removeItem(draftKey); }
    } catch (e) { /* storage unavailable: the draft lives only on the page */ }
  }
  if (draftKey && !box.value) {
    try { box.value = window.sessionStorage.getItem(draftKey) || ""; } catch (e) { /* as above */ }
  }

  // Canned responses (console): choosing one, or Alt+1..9, inserts it at the cursor.
  var canned = document.getElementById("canned");
  function insert(text) {
    var at = box.selectionStart || box.value.length;
    box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd || at);
    box.focus();
    box.selectionStart = box.selectionEnd = at + text.length;
    keepDraft();
  }
  if (canned) {
    canned.addEventListener("change", function () {
      if (canned.value) { insert(canned.options[canned.selectedIndex].getAttribute("data-body") || ""); canned.value = ""; }
    });
    document.addEventListener("keydown", function (e) {
      if (e.altKey && /^[1-9]$/.test(e.key)) {
        var opt = canned.options[+e.key];
        if (opt) { e.preventDefault(); insert(opt.getAttribute("data-body") || ""); }
      }
    });
  }

  connect();
})();
