// The header's search box (groupware/search): htmx brings the hits as the user types;
// the arrow keys walk them, Enter opens the chosen one (without a choice it sends the
// form: the results page), Escape closes the list. And the "+" menu closes when the
// user clicks elsewhere or presses Escape.
(function () {
  "use strict";

  function box() { return document.getElementById("search-box"); }
  function list() { return document.getElementById("search-results"); }
  function options() {
    var found = list();
    return found ? Array.prototype.slice.call(found.querySelectorAll('[role="option"]')) : [];
  }
  function chosen(items) {
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("aria-selected") === "true") return i;
    }
    return -1;
  }
  function choose(items, index) {
    var input = box();
    items.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (index < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    input.setAttribute("aria-activedescendant", items[index].id);
    items[index].scrollIntoView({ block: "nearest" });
  }
  function show(open) {
    var results = list(), input = box();
    if (!results || !input) return;
    results.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) choose(options(), -1);
  }

  document.addEventListener("keydown", function (event) {
    var input = box();
    if (event.key === "Escape") {
      document.querySelectorAll("details.quick-create[open]").forEach(function (menu) { menu.open = false; });
    }
    if (!input || event.target !== input) return;
    var items = options(), index = chosen(items), open = !list().hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!items.length) return;
      event.preventDefault();
      show(true);
      var step = event.key === "ArrowDown" ? 1 : -1;
      if (!open || index < 0) choose(items, step > 0 ? 0 : items.length - 1);
      else choose(items, (index + step + items.length) % items.length);
    } else if (event.key === "Enter" && open && index >= 0) {
      event.preventDefault();
      var target = items[index];
      show(false);
      target.click();
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      show(false);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== list()) return;
    show(list().textContent.trim() !== "" && box().value.trim() !== "");
  });

  document.addEventListener("click", function (event) {
    var form = event.target.closest && event.target.closest(".search-box");
    if (!form) show(false);
    document.querySelectorAll("details.quick-create[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("focusin", function (event) {
    var input = box();
    if (input && event.target === input && options().length && input.value.trim()) show(true);
  });
})();
