// The help chat on every page: the bot answers at once; after "Talk to a person" the
// window polls the conversation for the agent's replies. Text is always set as text.
(function () {
  "use strict";
  var STORE = "tessera.support.conversation";
  var POLL_MS = 3000;

  function start() {
    var root = document.getElementById("support-widget");
    if (!root) return;
    var d = root.dataset;
    var openButton = document.getElementById("support-open");
    var panel = document.getElementById("support-panel");
    var log = document.getElementById("support-log");
    var form = document.getElementById("support-form");
    var input = document.getElementById("support-input");
    var status = document.getElementById("support-status");
    var person = document.getElementById("support-person");
    var end = document.getElementById("support-end");
    var rate = document.getElementById("support-rate");
    var conversation = null;
    var lastId = 0;
    var timer = null;
    try { conversation = window.sessionStorage.getItem(STORE); } catch (e) { conversation = null; }

    function api(method, url, body) {
      var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
      if (method !== "GET") {
        options.headers["Content-Type"] = "application/json";
        options.headers["X-CSRFToken"] = d.csrf;
        options.body = JSON.stringify(body || {});
      }
      return fetch(url, options).then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) {
            var message = (data && data.error && data.error.message) || d.tError;
            var failure = new Error(message);
            failure.status = response.status;
            throw failure;
          }
          return data;
        });
      });
    }

    function add(message) {
      if (message.id && message.id <= lastId) return;
      if (message.id) lastId = message.id;
      var item = document.createElement("div");
      item.className = "support-msg from-" + message.sender;
      var who = document.createElement("span");
      who.className = "support-who";
      who.textContent = message.sender === "fan" ? d.tYou : message.sender_label;
      item.appendChild(who);
      item.appendChild(document.createTextNode(message.body));
      if (message.links && message.links.length) {
        var list = document.createElement("ul");
        message.links.forEach(function (link) {
          if (typeof link.url !== "string" || link.url.charAt(0) !== "/") return;
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = link.url;
          a.textContent = link.label;
          li.appendChild(a);
          list.appendChild(li);
        });
        item.appendChild(list);
      }
      log.appendChild(item);
      log.scrollTop = log.scrollHeight;
    }

    function show(data) {
      (data.messages || []).forEach(add);
      var withPerson = data.status === "waiting" || data.status === "open";
      person.hidden = data.status !== "bot";
      end.hidden = data.status === "closed";
      if (data.status === "waiting") status.textContent = d.tWaiting;
      else if (data.status === "closed") status.textContent = d.tClosed;
      else status.textContent = "";
      rate.hidden = !data.can_rate;
      input.disabled = data.status === "closed";
      if (withPerson) poll(); else stopPolling();
      if (data.offers_person) person.focus();
    }

    function remember(id) {
      conversation = id;
      try {
        if (id) window.sessionStorage.setItem(STORE, id);
        else window.sessionStorage.removeItem(STORE);
      } catch (e) { /* private mode: the conversation lasts as long as the page */ }
    }

    function poll() {
      if (timer) return;
      timer = window.setInterval(refresh, POLL_MS);
    }
    function stopPolling() {
      if (timer) window.clearInterval(timer);
      timer = null;
    }
    function refresh() {
      if (!conversation) return;
      api("GET", d.conversations + conversation + "?after=" + lastId).then(show).catch(function (error) {
        if (error.status === 404) { remember(null); stopPolling(); }
      });
    }

    function reset() {
      stopPolling();
      remember(null);
      lastId = 0;
      Array.prototype.slice.call(log.querySelectorAll(".support-msg")).slice(1).forEach(function (node) { node.remove(); });
      status.textContent = "";
      person.hidden = false;
      end.hidden = true;
      rate.hidden = true;
      input.disabled = false;
    }

    openButton.addEventListener("click", function () {
      panel.hidden = false;
      openButton.hidden = true;
      openButton.setAttribute("aria-expanded", "true");
      input.focus();
      if (conversation && lastId === 0) refresh();
    });
    function hide() {
      panel.hidden = true;
      openButton.hidden = false;
      openButton.setAttribute("aria-expanded", "false");
      openButton.focus();
    }
    document.getElementById("support-hide").addEventListener("click", hide);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") hide();
    });
    document.getElementById("support-new").addEventListener("click", function () {
      reset();
      input.focus();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      var body = { text: text };
      if (conversation) body.conversation = conversation;
      if (d.organization) body.organization = parseInt(d.organization, 10);
      input.value = "";
      api("POST", d.ask, body).then(function (data) {
        remember(data.id);
        show(data);
      }).catch(function (error) {
        status.textContent = error.message;
        input.value = text;
      });
    });

    person.addEventListener("click", function () {
      var go = function () {
        return api("POST", d.conversations + conversation + "/escalate", {}).then(show);
      };
      var failed = function (error) { status.textContent = error.message; };
      if (conversation) { go().catch(failed); return; }
      // no question asked yet: start the conversation with the wish itself
      api("POST", d.ask, { text: person.textContent.trim() }).then(function (data) {
        remember(data.id);
        show(data);
        return go();
      }).catch(failed);
    });

    end.addEventListener("click", function () {
      if (!conversation) return;
      api("POST", d.conversations + conversation + "/close", {}).then(show).catch(function (error) {
        status.textContent = error.message;
      });
    });

    Array.prototype.forEach.call(rate.querySelectorAll("button[data-rating]"), function (button) {
      button.setAttribute("aria-label", d.tStars.replace("{n}", button.dataset.rating));
      button.addEventListener("click", function () {
        api("POST", d.conversations + conversation + "/rating", { rating: parseInt(button.dataset.rating, 10) })
          .then(function () {
            rate.hidden = true;
            status.textContent = d.tThanks;
          })
          .catch(function (error) { status.textContent = error.message; });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
