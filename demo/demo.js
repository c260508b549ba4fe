// The demo storefront's own code: a consent banner and the store's business events.
// The tracker does the rest (page views, clicks, scroll, forms, exit intent, performance).
(function () {
  "use strict";
  var config = window.REVIVA_DEMO || {};
  var reviva = window.reviva;
  // The banner's own memory of a refusal (strictly necessary, set only when the visitor chooses).
  var CHOICE_KEY = "demo.consent-choice";

  // The booking site is "another domain": locally, the same demo under the other name of this
  // machine (localhost <-> 127.0.0.1), so the cross-domain linker can be seen at work.
  var otherHost = location.hostname === "localhost" ? "127.0.0.1" : "localhost";
  reviva.init({ writeKey: config.writeKey, linkerDomains: ["localhost", "127.0.0.1"], debug: true });
  var partner = document.getElementById("partner");
  if (partner) partner.href = location.protocol + "//" + otherHost + (location.port ? ":" + location.port : "") + location.pathname.replace(/[^/]*$/, "") + "book.html";

  // A button that shows and hides the panel it controls.
  function toggles(button, panel) {
    if (!button || !panel) return;
    button.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      button.setAttribute("aria-expanded", String(!panel.hidden));
    });
  }

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
  toggles(compare, document.getElementById("comparison"));

  // The free quote: the price range of a repair, from the price list, and a link to book it.
  var PRICES = {
    phones: { screen: "£89–£249", battery: "£59–£99", port: "£49–£79" },
    laptops: { screen: "£149–£399", battery: "£79–£189", port: "£69–£129" },
    consoles: { screen: null, battery: "£49", port: "£69" }
  };
  var SERVICES = { "phones-screen": "iphone-screen-repair", "laptops-battery": "laptop-battery", "consoles-port": "console-hdmi" };
  var quote = document.getElementById("quote-panel");
  toggles(document.getElementById("quote"), quote);
  function showQuote() {
    var device = quote.elements.device.value;
    var repair = quote.elements.repair.value;
    var price = PRICES[device][repair];
    var book = document.getElementById("quote-book");
    document.getElementById("quote-price").textContent = price ? price : "Not a repair we offer";
    book.hidden = !price;
    book.href = "book.html?service=" + (SERVICES[device + "-" + repair] || device + "-" + repair);
  }
  if (quote) {
    quote.addEventListener("change", showQuote);
    quote.addEventListener("submit", function (e) { e.preventDefault(); });
    showQuote();
  }

  // Promo codes: one is valid in the demo.
  var promo = document.getElementById("promo-panel");
  toggles(document.getElementById("promo"), promo);
  if (promo) promo.addEventListener("submit", function (e) {
    e.preventDefault();
    var code = promo.elements.code.value.trim().toUpperCase();
    document.getElementById("promo-result").textContent = code === "FIRSTFIX"
      ? "FIRSTFIX applied: 10% off your first repair."
      : "That code is not valid. Try FIRSTFIX.";
  });

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
