/* searchengine web: optional enhancements. The site works without this file.
 *
 * - "/" focuses the search box (unless you are typing in a field).
 * - Completion: post titles from /api/suggest as you type, debounced; an ARIA
 *   combobox driven by the arrow keys, Enter and Escape. Choosing a title
 *   opens its post (or, if the server found none, searches for it).
 *
 * Text is only ever inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  var input = document.getElementById("q");
  if (!input) return;

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    event.preventDefault();
    input.focus();
    input.select();
  });

  if (!window.fetch || !window.URLSearchParams) return;

  var DELAY = 150;
  var form = input.form;
  var list = document.createElement("ul");
  var status = document.createElement("div");
  var timer = null;
  var controller = null;
  var sequence = 0;
  var items = [];
  var suggestions = [];
  var active = -1;
  var composing = false;

  list.id = "q-suggestions";
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "搜索建议");
  list.hidden = true;
  input.parentNode.appendChild(list);

  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  input.parentNode.appendChild(status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("autocomplete", "off");

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function select(index) {
    items.forEach(function (item, i) {
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function postUrl(path) {
    return "/post/" + path.split("/").map(encodeURIComponent).join("/");
  }

  function choose(suggestion) {
    input.value = suggestion.title;
    close();
    if (typeof suggestion.path === "string" && suggestion.path) {
      window.location.assign(postUrl(suggestion.path));
    } else if (form) {
      form.submit();
    }
  }

  function render(found) {
    list.textContent = "";
    suggestions = found;
    items = found.map(function (suggestion, i) {
      var item = document.createElement("li");
      item.id = "q-suggestion-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.textContent = suggestion.title;
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus in the box
        choose(suggestion);
      });
      list.appendChild(item);
      return item;
    });
    active = -1;
    if (items.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = items.length + " 条建议，用上下方向键选择";
    } else {
      close();
      status.textContent = "";
    }
  }

  function fetchSuggestions() {
    var prefix = input.value.trim();
    if (controller) controller.abort();
    if (!prefix) {
      render([]);
      return;
    }
    var mine = ++sequence;
    controller = window.AbortController ? new AbortController() : null;
    var url = "/api/suggest?" + new URLSearchParams({ q: prefix }).toString();
    fetch(url, { signal: controller ? controller.signal : undefined, headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
      .then(function (data) {
        if (mine !== sequence || document.activeElement !== input) return;
        var found = Array.isArray(data.suggestions) ? data.suggestions : [];
        render(found.filter(function (s) { return s && typeof s.title === "string"; }).slice(0, 8));
      })
      .catch(function () { /* aborted or offline: no completion, nothing else changes */ });
  }

  function schedule() {
    if (composing) return; // wait for the IME to finish the characters
    window.clearTimeout(timer);
    timer = window.setTimeout(fetchSuggestions, DELAY);
  }

  input.addEventListener("input", schedule);
  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () { composing = false; schedule(); });
  input.addEventListener("blur", function () { window.setTimeout(close, 100); });

  input.addEventListener("keydown", function (event) {
    if (event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (list.hidden) {
        if (items.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
        } else {
          schedule();
        }
        event.preventDefault();
        return;
      }
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      var next = active + step;
      if (next >= items.length) next = -1;
      if (next < -1) next = items.length - 1;
      select(next);
    } else if (event.key === "Enter") {
      if (!list.hidden && active >= 0) {
        event.preventDefault();
        choose(suggestions[active]);
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        close();
      }
    } else if (event.key === "Tab") {
      close();
    }
  });
})();
