// Address completion in the compose form: typing in To, Cc or Bcc asks /mail/addresses
// for colleagues, persons and partners matching the address being typed (the part
// after the last comma) and offers them in a list; a choice replaces that part.
// Without this script the fields are plain text inputs.
(function () {
  "use strict";
  if (window.gwMailCompose) return;
  window.gwMailCompose = true;
  var timer = null;
  var counter = 0;

  function split(value) {
    var at = value.lastIndexOf(",");
    return { head: value.slice(0, at + 1), term: value.slice(at + 1).trim() };
  }

  function listFor(input) {
    var list = document.getElementById(input.id + "-suggestions");
    if (!list) {
      list = document.createElement("ul");
      list.id = input.id + "-suggestions";
      list.className = "address-suggestions";
      list.setAttribute("role", "listbox");
      list.hidden = true;
      input.parentNode.classList.add("address-field");
      input.parentNode.appendChild(list);
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-controls", list.id);
      input.setAttribute("aria-expanded", "false");
    }
    return list;
  }

  function close(input) {
    var list = listFor(input);
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(input, label) {
    var parts = split(input.value);
    input.value = (parts.head ? parts.head + " " : "") + label + ", ";
    close(input);
    input.focus();
  }

  function show(input, found) {
    var list = listFor(input);
    list.textContent = "";
    found.forEach(function (item) {
      var option = document.createElement("li");
      option.id = "address-option-" + ++counter;
      option.setAttribute("role", "option");
      option.dataset.label = item.label;
      option.textContent = item.label;
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = item.kind_label || "";
      option.appendChild(kind);
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(input, item.label);
      });
      list.appendChild(option);
    });
    list.hidden = found.length === 0;
    input.setAttribute("aria-expanded", found.length ? "true" : "false");
  }

  function lookUp(input) {
    var term = split(input.value).term;
    if (term.length < 2) {
      close(input);
      return;
    }
    fetch("/mail/addresses?q=" + encodeURIComponent(term), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (found) {
        if (split(input.value).term === term) show(input, found);
      })
      .catch(function () { close(input); });
  }

  function move(input, step) {
    var list = listFor(input);
    var options = Array.prototype.slice.call(list.querySelectorAll("li"));
    if (list.hidden || !options.length) return false;
    var current = options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    var next = (current + step + options.length) % options.length;
    options.forEach(function (o, i) { o.setAttribute("aria-selected", i === next ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", options[next].id);
    return true;
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-addresses]")) return;
    clearTimeout(timer);
    timer = setTimeout(function () { lookUp(input); }, 200);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-addresses]")) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (move(input, event.key === "ArrowDown" ? 1 : -1)) event.preventDefault();
    } else if (event.key === "Enter") {
      var picked = listFor(input).querySelector('li[aria-selected="true"]');
      if (picked) {
        event.preventDefault();
        choose(input, picked.dataset.label);
      }
    } else if (event.key === "Escape") {
      close(input);
    }
  });

  // Text typed into a field before this script ran (it loads after the form, and on
  // a slow machine a quick typist is first) is looked up now.
  var typed = document.activeElement;
  if (typed && typed.matches && typed.matches("input[data-addresses]") && typed.value) {
    lookUp(typed);
  }

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[data-addresses]")) {
      setTimeout(function () { close(input); }, 150);
    }
  });
})();
