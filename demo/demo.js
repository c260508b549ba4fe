// The demo storefront's own code: a consent banner and the store's business events.
// The tracker does the rest (page views, clicks, scroll, forms, exit intent, performance).
(function () {
  "use strict";
  var config = window.REVIVA_DEMO || {};
  var reviva = window.reviva;
  // The banner's own memory of a refusal (strictly necessary, set only when the visitor chooses).
  var CHOICE_KEY = "demo.consent-choice";

  reviva.init({ writeKey: config.writeKey, linkerDomains: ["book.revivatech.example"], debug: true });

  var banner = document.getElementById("consent-banner");
  var mode = document.getElementById("mode");
  function showMode() {
    var c = reviva.consentState;
    mode.textContent = c.analytics ? "on" + (c.marketing ? " + marketing" : "") : "cookieless";
  }
  function choose(categories) {
    reviva.consent(categories);
    try {
      if (categories.analytics) localStorage.removeItem(CHOICE_KEY);
      else localStorage.setItem(CHOICE_KEY, "refused");
    } catch (e) { /* storage disabled */ }
    banner.hidden = true;
    showMode();
  }
  var decided = reviva.consentState.analytics || localStorage.getItem(CHOICE_KEY) === "refused";
  banner.hidden = decided;
  showMode();
  document.getElementById("consent-all").onclick = function () { choose({ analytics: true, marketing: true, personalization: true }); };
  document.getElementById("consent-analytics").onclick = function () { choose({ analytics: true, marketing: false, personalization: false }); };
  document.getElementById("consent-none").onclick = function () { choose({ analytics: false, marketing: false, personalization: false }); };
  document.getElementById("privacy-settings").onclick = function (e) { e.preventDefault(); banner.hidden = false; };

  // Services / prices views: a single-page-app navigation (history.pushState).
  function showView(view) {
    var services = document.getElementById("services");
    var prices = document.getElementById("prices");
    if (!services || !prices) return;
    services.hidden = view === "prices";
    prices.hidden = view !== "prices";
  }
  var links = document.querySelectorAll("[data-view]");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (e) {
      if (!document.getElementById("services")) return;
      e.preventDefault();
      var view = this.getAttribute("data-view");
      history.pushState({ view: view }, "", view === "prices" ? "./?view=prices" : "./");
      showView(view);
      if (view === "prices") reviva.track("Pricing Viewed", { category: "all" });
    });
  }
  window.addEventListener("popstate", function () { showView(new URLSearchParams(location.search).get("view") || "services"); });
  showView(new URLSearchParams(location.search).get("view") || "services");

  var compare = document.querySelector("[data-track=compare-services]");
  if (compare) compare.addEventListener("click", function () { reviva.track("Service Compared", { services: 3 }); });

  // Booking: business events carry what the page knows, never what the visitor typed.
  var form = document.getElementById("booking");
  if (form) {
    var service = new URLSearchParams(location.search).get("service") || "general";
    form.elements.service.value = service;
    reviva.track("Booking Started", { service: service });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var reference = "bk-" + Math.random().toString(36).slice(2, 10);
      reviva.identify(reference, { customer_type: "booking" });
      reviva.track("Booking Submitted", { service: service, booking_reference: reference });
      form.hidden = true;
      document.getElementById("thanks").hidden = false;
    });
  }
})();
