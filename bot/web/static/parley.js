// The staff web works without this file; it only adds three things:
// a live SMS segment count beside each message box, buttons that cannot send a form
// twice, and broadcast progress that moves without reloading the page.
"use strict";

// GSM 03.38: the basic set (one septet each) and its extension (two: escape + char),
// as bot/channels/segments.py counts them.
const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
);
const GSM7_EXTENSION = new Set("\f^{}\\[~]|€");
const PLAIN = {
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
  "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
  "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
  "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
  "\u2022": "*", "\u00b7": ".",
};

function isGsm7(text) {
  for (const ch of text) {
    if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) return false;
  }
  return true;
}

function friendly(text) {
  if (isGsm7(text)) return text;
  const plain = Array.from(text, (ch) => (ch in PLAIN ? PLAIN[ch] : ch)).join("");
  return isGsm7(plain) ? plain : text;
}

// How many SMS segments a text takes, and in which encoding.
function segments(raw) {
  const text = friendly(raw);
  if (!text) return { encoding: "GSM-7", count: 0, units: 0 };
  const gsm = isGsm7(text);
  let units = 0;
  for (const ch of text) {
    units += gsm ? (GSM7_EXTENSION.has(ch) ? 2 : 1) : (ch.codePointAt(0) > 0xffff ? 2 : 1);
  }
  const single = gsm ? 160 : 70;
  const part = gsm ? 153 : 67;
  if (units <= single) return { encoding: gsm ? "GSM-7" : "UCS-2", count: 1, units };
  let count = 1;
  let used = 0;
  for (const ch of text) {
    const width = gsm ? (GSM7_EXTENSION.has(ch) ? 2 : 1) : (ch.codePointAt(0) > 0xffff ? 2 : 1);
    if (used + width > part) { count += 1; used = 0; }
    used += width;
  }
  return { encoding: gsm ? "GSM-7" : "UCS-2", count, units };
}

function showSegments(box) {
  const out = document.getElementById(box.dataset.segments);
  if (!out) return;
  const found = segments(box.value);
  if (found.count === 0) { out.textContent = ""; return; }
  const unit = found.encoding === "GSM-7" ? "characters" : "UCS-2 units";
  out.textContent = `${found.count} SMS segment${found.count === 1 ? "" : "s"} ` +
    `(${found.encoding}, ${found.units} ${unit}) as typed; the preview counts what is sent.`;
}

function guardForms() {
  for (const form of document.querySelectorAll("form[method='post']")) {
    form.addEventListener("submit", () => {
      // After the browser has taken the click: a second click sends nothing.
      setTimeout(() => {
        for (const button of form.querySelectorAll("button[type='submit']")) {
          button.disabled = true;
        }
      }, 0);
    });
  }
}

function followProgress(panel) {
  const url = panel.dataset.progress;
  const tick = async () => {
    try {
      const answer = await fetch(url, { credentials: "same-origin" });
      if (!answer.ok) return;
      const shown = await answer.json();
      for (const [name, value] of Object.entries(shown.counts)) {
        for (const target of panel.querySelectorAll(`[data-count="${name}"]`)) {
          if (target.tagName === "PROGRESS") {
            target.max = Math.max(shown.recipients, 1);
            target.value = value;
          } else {
            target.textContent = String(value);
          }
        }
      }
      if (!shown.done) setTimeout(tick, 3000);
    } catch (error) {
      setTimeout(tick, 10000);
    }
  };
  setTimeout(tick, 3000);
}

// A table wider than the screen scrolls sideways, and can take the focus so that the
// keyboard scrolls it; one that fits needs no tab stop of its own.
function fitScrolls() {
  for (const box of document.querySelectorAll(".scroll[tabindex]")) {
    if (box.scrollWidth <= box.clientWidth) box.removeAttribute("tabindex");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  fitScrolls();
  for (const box of document.querySelectorAll("textarea[data-segments]")) {
    box.addEventListener("input", () => showSegments(box));
    showSegments(box);
  }
  guardForms();
  for (const panel of document.querySelectorAll("[data-progress]")) followProgress(panel);
});
