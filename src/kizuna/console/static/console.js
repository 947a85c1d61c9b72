// Kizuna console: copy buttons, snippet tabs, confirmations and live fragments. No dependencies.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP hosts have no clipboard API: select a hidden textarea and copy it.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

function setUpCopyButtons(root) {
  root.querySelectorAll("button[data-copy]").forEach((button) => {
    const label = button.textContent;
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      copyText(source.textContent.trim()).then(() => {
        button.textContent = button.dataset.copied;
        button.classList.add("done");
        setTimeout(() => {
          button.textContent = label;
          button.classList.remove("done");
        }, 1600);
      });
    });
  });
}

function setUpTabs(root) {
  root.querySelectorAll("[data-tabs]").forEach((tabs) => {
    const buttons = tabs.querySelectorAll("[data-tab]");
    buttons.forEach((button) => {
      button.addEventListener("click", () => {
        buttons.forEach((other) => {
          const selected = other === button;
          other.setAttribute("aria-selected", selected ? "true" : "false");
          document.getElementById(other.dataset.tab).hidden = !selected;
        });
      });
    });
  });
}

function setUpConfirmations(root) {
  root.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

// An element with data-live-url is refreshed from that HTML fragment every data-live-every ms.
function setUpLiveFragments(root) {
  root.querySelectorAll("[data-live-url]").forEach((element) => {
    const url = element.dataset.liveUrl;
    const every = Number(element.dataset.liveEvery) || 2000;
    const indicator = document.getElementById("live-state");
    let last = null;

    async function refresh() {
      if (!document.hidden) {
        try {
          const response = await fetch(url, {
            headers: { "X-Requested-With": "fetch" },
            credentials: "same-origin",
            cache: "no-store",
          });
          if (response.status === 401) {
            window.location.reload(); // the session ended: the page will ask to sign in
            return;
          }
          if (response.ok) {
            const html = await response.text();
            if (html !== last) {
              element.innerHTML = html;
              last = html;
            }
          }
          if (indicator) indicator.classList.toggle("offline", !response.ok);
        } catch (error) {
          if (indicator) indicator.classList.add("offline");
        }
      }
      window.setTimeout(refresh, every);
    }

    window.setTimeout(refresh, every);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons(document);
  setUpTabs(document);
  setUpConfirmations(document);
  setUpLiveFragments(document);
});
