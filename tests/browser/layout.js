// The layout check of tests/browser/layout.py, run in the page: see there.
(width) => {
  const problems = {overflow: [], overlaps: []};
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    const classes = [...el.classList].slice(0, 3);
    if (classes.length) name += "." + classes.join(".");
    const text = (el.innerText || el.value || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return text ? `${name} "${text}"` : name;
  };
  const scrolls = (el) => {
    const style = getComputedStyle(el);
    return ["auto", "scroll", "hidden", "clip"].includes(style.overflowX);
  };
  const root = document.documentElement;
  if (root.scrollWidth > width + 1) {
    const walk = (el) => {
      for (const child of el.children) {
        const rect = child.getBoundingClientRect();
        if (rect.width === 0 && rect.height === 0 && getComputedStyle(child).display === "none") continue;
        if (rect.right > width + 1 && getComputedStyle(child).position !== "fixed") {
          problems.overflow.push(`${describe(child)} reaches ${Math.round(rect.right + scrollX)} px`);
          continue;
        }
        if (!scrolls(child)) walk(child);
      }
    };
    walk(document.body);
    if (!problems.overflow.length) problems.overflow.push(`the document is ${root.scrollWidth} px wide`);
  }

  const visible = (el) => {
    // What a closed <details> holds besides its summary is not drawn (a closed menu).
    if (el.closest("details:not([open]) > :not(summary)")) return false;
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.display === "none" || style.visibility === "hidden" || style.opacity === "0") return false;
    }
    return true;
  };
  const overlay = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const position = getComputedStyle(e).position;
      if ((position === "absolute" || position === "fixed") && e.closest("details[open]")) return true;
      if (e.hasAttribute && e.hasAttribute("data-overlay")) return true;
    }
    return false;
  };
  const clipped = (el, rect) => {
    let {left, top, right, bottom} = rect;
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const style = getComputedStyle(e);
      const box = e.getBoundingClientRect();
      if (style.overflowX !== "visible") { left = Math.max(left, box.left); right = Math.min(right, box.right); }
      if (style.overflowY !== "visible") { top = Math.max(top, box.top); bottom = Math.min(bottom, box.bottom); }
      if (style.clip && style.clip !== "auto") return null;
    }
    return right - left > 1 && bottom - top > 1 ? {left, top, right, bottom} : null;
  };
  const boxes = [];
  const add = (el, rect) => {
    const cut = clipped(el, rect);
    if (cut) boxes.push({el, ...cut, top: cut.top + scrollY, bottom: cut.bottom + scrollY});
  };
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    if (!node.data.trim()) continue;
    const el = node.parentElement;
    if (!el || ["SCRIPT", "STYLE", "OPTION", "TITLE", "NOSCRIPT"].includes(el.tagName)) continue;
    if (!visible(el) || overlay(el)) continue;
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) add(el, rect);
  }
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "checkbox", "radio"].includes(el.type) || !visible(el) || overlay(el)) continue;
    add(el, el.getBoundingClientRect());
  }
  boxes.sort((a, b) => a.top - b.top);
  const seen = new Set();
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    for (let j = i + 1; j < boxes.length && boxes[j].top < a.bottom; j++) {
      const b = boxes[j];
      if (a.el === b.el) continue;
      const across = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const down = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      const lower = Math.min(a.bottom - a.top, b.bottom - b.top);
      if (across > 3 && down > Math.max(2, lower / 3)) {
        const key = describe(a.el) + " / " + describe(b.el);
        if (!seen.has(key)) {
          seen.add(key);
          problems.overlaps.push(`${key} at ${Math.round(a.left)},${Math.round(a.top)}`);
        }
      }
    }
  }
  return problems;
}
