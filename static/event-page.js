// Planner's event page: an event's image that cannot be loaded (a dead
// link, a host that is down) is taken out of the page, so it leaves no
// empty gap. Without this script the page still reads well: the image has
// an empty alt, so a broken one shows nothing but its margins.
(() => {
  "use strict";
  const hide = (img) => { img.hidden = true; };
  // error does not bubble: listen in the capture phase, for images that
  // fail after this deferred script ran (they are lazy-loaded)...
  document.addEventListener("error", (e) => {
    if (e.target instanceof HTMLImageElement && e.target.matches(".event-image")) hide(e.target);
  }, true);
  // ...and look at those that failed before it.
  document.querySelectorAll("img.event-image").forEach((img) => {
    if (img.complete && img.naturalWidth === 0) hide(img);
  });
})();
