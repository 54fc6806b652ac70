// dom — the few DOM helpers every view uses. Text always goes in through
// textContent: names and values come from the network.

export const $ = (id) => document.getElementById(id);

// el: create <tag class=cls> with optional text.
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// setText: write only when the text differs (a DOM write costs a layout).
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}
