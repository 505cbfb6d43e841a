/* Flex's only script, served as a file (a Content-Security-Policy forbids inline script).
 * - "/" focuses the page's search field; "j" opens the next page, "k" the previous one.
 * - A form field marked data-modes="a b" shows only while its form's mode select is a or b.
 * Everything works without it: the shortcuts and the hiding are conveniences.
 */
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function follow(selectors) {
    for (var i = 0; i < selectors.length; i++) {
      var link = document.querySelector(selectors[i]);
      if (link && link.href) {
        window.location.assign(link.href);
        return true;
      }
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var handled = false;
    if (event.key === "/") {
      var search = document.querySelector('[data-shortcut="/"]') ||
        document.querySelector('input[type="search"]');
      if (search) {
        search.focus();
        if (search.select) search.select();
        handled = true;
      }
    } else if (event.key === "j") {
      handled = follow(['a[rel="next"]']);
    } else if (event.key === "k") {
      handled = follow(['a[rel="prev"]', 'a[rel="first"]']);
    }
    if (handled) event.preventDefault();
  });
  document.documentElement.setAttribute("data-keys", "ready");  // for tests: keys listen

  function showModeFields(select) {
    var form = select.form;
    if (!form) return;
    var fields = form.querySelectorAll("[data-modes]");
    for (var i = 0; i < fields.length; i++) {
      var modes = fields[i].getAttribute("data-modes").split(" ");
      fields[i].hidden = modes.indexOf(select.value) === -1;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var selects = document.querySelectorAll("select[data-mode-select]");
    for (var i = 0; i < selects.length; i++) {
      showModeFields(selects[i]);
      selects[i].addEventListener("change", function (event) {
        showModeFields(event.target);
      });
    }
  });
})();
