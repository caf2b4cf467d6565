// Planner events widget.
//
// Paste on any site:
//
//   <div data-planner-events data-limit="5" data-tag="python"></div>
//   <script src="https://planner.example/static/widget.js" async></script>
//
// Every [data-planner-events] element gets a shadow root listing the
// upcoming public events of the Planner that served this file. Options, as
// data attributes: data-limit (1–50, default 5), data-tag (only events with
// this tag) and data-title (the heading; empty for none).
//
// Plain JavaScript with no build step and no dependencies: what is served is
// what you can read. The rules it keeps:
// - Text from the API is only ever set with textContent, never as HTML, so
//   an event titled "<img src=x onerror=alert(1)>" is shown, not run.
// - Links are built from this script's origin and the numeric event id,
//   never from URLs in the data (and event images are not loaded, so the
//   host page never contacts a third party).
// - No cookies go with the request (credentials: "omit"): the widget sees
//   what an anonymous visitor sees, public events only.
// - No inline styles: the styles come from widget.css beside this file, so
//   the widget works under a strict Content-Security-Policy, Planner's own
//   included.
(() => {
  "use strict";

  // document.currentScript is only set while this file first runs (async
  // scripts included), so read it now, not in a later callback. The query is
  // a fallback for browsers or loaders that leave it empty.
  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const scriptURL = script && script.src ? new URL(script.src, document.baseURI) : null;
  // Planner's base URL has no path, so its origin is where the API is.
  const origin = scriptURL ? scriptURL.origin : null;

  const DEFAULT_LIMIT = 5;
  const MAX_LIMIT = 50;
  const TIMEOUT_MS = 10000;
  const TEXT = {
    heading: "Upcoming events",
    loading: "Loading events…",
    error: "Events could not be loaded.",
    empty: "No upcoming events.",
    undated: "Date to be announced",
    more: "More events on Planner",
    yourTime: "Your time: ",
    rsvp: "RSVP on Planner",
    waitlist: "Join the waitlist on Planner",
    full: "Full: waitlist open",
  };

  // Times are shown as Planner's pages show them, whatever the visitor's
  // locale: "Sat 1 Mar 2031, 18:00 – 20:00", a 24-hour clock, in the
  // event's own time zone with the zone's name, and in the visitor's zone
  // too when it differs. Intl gives the parts (in English, as the rest of
  // the widget's text); the shape is put together here.
  const visitorZone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  const formats = new Map();
  function dates(timeZone) {
    const key = timeZone || "";
    if (!formats.has(key)) {
      const opts = {
        weekday: "short", day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
      };
      // name is the zone as Planner names it (Intl may give an older alias,
      // "America/Buenos_Aires" for "America/Argentina/Buenos_Aires").
      let f, name = timeZone || visitorZone;
      try {
        f = new Intl.DateTimeFormat("en-US", timeZone ? { ...opts, timeZone } : opts);
      } catch {
        f = new Intl.DateTimeFormat("en-US", { ...opts, timeZone: "UTC" }); // a zone this browser does not know
        name = "UTC";
      }
      formats.set(key, { f, name });
    }
    return formats.get(key);
  }

  // parts is a date's pieces in f: { weekday, day, month, year, hour,
  // minute, timeZoneName }.
  function parts(f, d) {
    const out = {};
    for (const p of f.formatToParts(d)) out[p.type] = p.value;
    // Some engines write midnight as 24 even with h23.
    if (out.hour === "24") out.hour = "00";
    return out;
  }

  // zoneName names a zone as the pages do: "Europe/Berlin (GMT+1)", or
  // just "UTC".
  function zoneName(zone, abbr) {
    if (!abbr || abbr === zone) return zone;
    return zone + " (" + abbr + ")";
  }
  // el makes an element whose text, if any, is set as text.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
      // ::part() lets host pages restyle the widget from outside.
      node.setAttribute("part", className);
    }
    if (text != null) node.textContent = String(text);
    return node;
  }

  function clampLimit(raw) {
    const n = parseInt(raw, 10);
    if (Number.isNaN(n)) return DEFAULT_LIMIT;
    return Math.min(MAX_LIMIT, Math.max(1, n));
  }

  function parseDate(s) {
    const d = typeof s === "string" ? new Date(s) : null;
    return d && !Number.isNaN(d.getTime()) ? d : null;
  }

  // when is "Sun 1 Jun 2031, 19:00 – 22:00 Europe/Berlin (GMT+2)" in
  // timeZone (the visitor's own when undefined), or a plain note for
  // undated events. The end's date is left out when it is the same day.
  function when(startsAt, endsAt, timeZone) {
    const start = parseDate(startsAt);
    if (!start) return TEXT.undated;
    const { f, name: zone } = dates(timeZone);
    const s = parts(f, start);
    const day = (p) => p.weekday + " " + p.day + " " + p.month + " " + p.year;
    let out = day(s) + ", " + s.hour + ":" + s.minute;
    const end = parseDate(endsAt);
    if (end && end > start) {
      const e = parts(f, end);
      out += " – " + (day(e) === day(s) ? "" : day(e) + ", ") + e.hour + ":" + e.minute;
    }
    return out + " " + zoneName(zone, s.timeZoneName);
  }

  // seats is "3 of 20 seats left", or a note that the event is full, for
  // events with a capacity; "" otherwise.
  function seats(ev) {
    if (!Number.isSafeInteger(ev.capacity) || ev.capacity < 1) return "";
    const going = Number.isSafeInteger(ev.going_count) ? ev.going_count : 0;
    const left = Math.max(0, ev.capacity - going);
    if (left === 0) return TEXT.full;
    return left + " of " + ev.capacity + (ev.capacity === 1 ? " seat left" : " seats left");
  }

  // load fetches up to limit upcoming public events from Planner's API.
  // Any failure (network, CORS refusal, error status, odd body) throws.
  async function load(limit, tag) {
    if (!origin) throw new Error("Planner widget: cannot tell where widget.js came from");
    const url = new URL("/api/event/", origin);
    url.searchParams.set("upcoming", "1");
    url.searchParams.set("limit", String(limit));
    if (tag) url.searchParams.set("tag", tag);
    const res = await fetch(url, {
      credentials: "omit",
      headers: { Accept: "application/json" }, // a safelisted header: no preflight
      // A hung server should end in the error message, not "Loading" forever.
      signal: typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(TIMEOUT_MS) : undefined,
    });
    if (!res.ok) throw new Error("Planner widget: the API answered " + res.status);
    const events = await res.json();
    if (!Array.isArray(events)) throw new Error("Planner widget: unexpected answer");
    return events;
  }

  function eventItem(ev) {
    const item = el("li", "event");
    const linked = Number.isSafeInteger(ev.id) && ev.id > 0;
    const title = el(linked ? "a" : "span", "event-title", ev.title);
    if (linked) title.href = origin + "/events/" + ev.id;
    const meta = el("p", "meta");
    const zone = typeof ev.timezone === "string" && ev.timezone !== "" ? ev.timezone : undefined;
    const date = el("time", "date", when(ev.starts_at, ev.ends_at, zone));
    if (parseDate(ev.starts_at)) date.dateTime = ev.starts_at;
    meta.append(date);
    if (parseDate(ev.starts_at) && zone && zone !== visitorZone) {
      meta.append(el("span", "local-time", TEXT.yourTime + when(ev.starts_at, ev.ends_at, undefined)));
    }
    if (typeof ev.location === "string" && ev.location !== "") {
      meta.append(el("span", "location", ev.location));
    }
    item.append(title, meta);
    const left = seats(ev);
    if (left !== "" || (linked && ev.rsvp_open === true)) {
      const rsvp = el("p", "rsvp");
      if (left !== "") rsvp.append(el("span", "seats", left));
      if (linked && ev.rsvp_open === true) {
        const full = left === TEXT.full;
        const a = el("a", "rsvp-link", full ? TEXT.waitlist : TEXT.rsvp);
        a.href = origin + "/events/" + ev.id;
        rsvp.append(a);
      }
      item.append(rsvp);
    }
    return item;
  }

  async function mount(host) {
    let root;
    try {
      root = host.attachShadow({ mode: "open" });
    } catch {
      return; // already mounted (the script is on the page twice) or an element that cannot have one
    }
    const limit = clampLimit(host.dataset.limit);
    const tag = (host.dataset.tag || "").trim();
    const heading = host.dataset.title === undefined ? TEXT.heading : host.dataset.title.trim();

    // The stylesheet sits beside this file; keeping the script's query
    // (a version tag) lets it be cached exactly as long as the script.
    const css = document.createElement("link");
    css.rel = "stylesheet";
    if (scriptURL) css.href = new URL("widget.css" + scriptURL.search, scriptURL).href;

    const box = el("section", "widget");
    if (heading) {
      const h = el("h2", "heading", heading);
      h.id = "heading";
      box.append(h);
      box.setAttribute("aria-labelledby", "heading");
    } else {
      box.setAttribute("aria-label", TEXT.heading);
    }
    const message = el("p", "message", TEXT.loading);
    message.setAttribute("role", "status");
    box.append(message);
    box.dataset.state = "loading"; // read by tests and usable in CSS
    box.setAttribute("aria-busy", "true");
    root.replaceChildren(css, box);

    let events;
    try {
      events = await load(limit, tag);
    } catch (err) {
      message.textContent = TEXT.error;
      box.dataset.state = "error";
      box.removeAttribute("aria-busy");
      console.warn(err);
      return;
    }

    if (events.length === 0) {
      message.textContent = TEXT.empty;
      box.dataset.state = "empty";
    } else {
      const list = el("ul", "events");
      list.append(...events.map(eventItem));
      message.replaceWith(list);
      box.dataset.state = "ready";
    }
    const more = el("p", "more");
    const link = el("a", "more-link", TEXT.more);
    link.href = origin + "/events" + (tag ? "?tag=" + encodeURIComponent(tag) : "");
    more.append(link);
    box.append(more);
    box.removeAttribute("aria-busy");
  }

  function start() {
    document.querySelectorAll("[data-planner-events]").forEach(mount);
  }

  // An async script can run before the page below it is parsed: wait for
  // the document, so widgets placed after the script are found too.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  } else {
    start();
  }
})();
