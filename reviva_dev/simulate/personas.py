"""Who visits the RevivaTech site in the simulation, and what the site offers them.

Everything here is static data: the personas and their weights, the store's services and
pages, the devices (real user-agent strings), the referrers and the marketing campaigns. The
traffic generator combines them with a seeded random number generator; keeping the catalogue
apart makes it easy to read what the simulated world looks like and to extend it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SITE_ORIGIN = "https://www.revivatech.co.uk"
CURRENCY = "GBP"
# analytics.js 2.0 ("analytics-next") reports its version with a "next-" prefix.
LIBRARY = {"name": "analytics.js", "version": "next-1.76.0"}


class PersonaName(StrEnum):
    """The kinds of visitor the simulator plays."""

    CASUAL_BROWSER = "casual_browser"
    RESEARCHER = "researcher"
    CONVERTER = "converter"
    RETURNING_CUSTOMER = "returning_customer"
    CAMPAIGN = "campaign"
    BOT = "bot"


@dataclass(frozen=True)
class Persona:
    """A kind of visitor and its share of all visitors."""

    name: PersonaName
    weight: float
    description: str


PERSONAS: tuple[Persona, ...] = (
    Persona(
        PersonaName.CASUAL_BROWSER,
        0.30,
        "Arrives from search, social or directly, often bounces, reads a page or three.",
    ),
    Persona(
        PersonaName.RESEARCHER,
        0.22,
        "Compares services and prices over one to three visits; may start a booking and abandon.",
    ),
    Persona(
        PersonaName.CONVERTER,
        0.10,
        "Picks a repair, views its price and books it (identify, then Booking Submitted).",
    ),
    Persona(
        PersonaName.RETURNING_CUSTOMER,
        0.10,
        "A past customer who comes back days later, logs in (identify), sometimes books again.",
    ),
    Persona(
        PersonaName.CAMPAIGN,
        0.18,
        "Lands from an ad or a newsletter (UTM parameters, click ids); some switch campaign mid-visit.",
    ),
    Persona(
        PersonaName.BOT,
        0.10,
        "A crawler or script: bot user agent, many pages a second or so apart, no referrer.",
    ),
)

PERSONA_WEIGHTS: dict[PersonaName, float] = {p.name: p.weight for p in PERSONAS}


@dataclass(frozen=True)
class Service:
    """A repair the store sells, with its list price range in pence."""

    slug: str
    name: str
    category: str
    devices: tuple[str, ...]
    price_min_pence: int
    price_max_pence: int

    @property
    def path(self) -> str:
        """The service's page on the site."""
        return f"/services/{self.slug}"


SERVICES: tuple[Service, ...] = (
    Service(
        "iphone-screen-repair",
        "iPhone Screen Repair",
        "phones",
        ("iPhone 12", "iPhone 13", "iPhone 14", "iPhone 15 Pro", "iPhone 16"),
        8900,
        27900,
    ),
    Service(
        "samsung-screen-repair",
        "Samsung Screen Repair",
        "phones",
        ("Galaxy S22", "Galaxy S23", "Galaxy S24 Ultra", "Galaxy A54"),
        7900,
        24900,
    ),
    Service(
        "phone-battery-replacement",
        "Phone Battery Replacement",
        "phones",
        ("iPhone 11", "iPhone 13", "Galaxy S21", "Pixel 7"),
        4900,
        8900,
    ),
    Service(
        "laptop-repair",
        "Laptop Repair",
        "laptops",
        ("Dell XPS 13", "Lenovo ThinkPad T14", "HP Spectre x360", "ASUS ZenBook"),
        7900,
        19900,
    ),
    Service(
        "laptop-screen-replacement",
        "Laptop Screen Replacement",
        "laptops",
        ("MacBook Air M1", "MacBook Pro 14", "Dell XPS 15", "Surface Laptop 5"),
        11900,
        32900,
    ),
    Service(
        "macbook-battery-replacement",
        "MacBook Battery Replacement",
        "laptops",
        ("MacBook Air M1", "MacBook Air M2", "MacBook Pro 13"),
        12900,
        19900,
    ),
    Service(
        "ipad-screen-repair",
        "iPad Screen Repair",
        "tablets",
        ("iPad 9th gen", "iPad Air 5", "iPad Pro 11", "iPad mini 6"),
        9900,
        29900,
    ),
    Service(
        "tablet-charging-port-repair",
        "Tablet Charging Port Repair",
        "tablets",
        ("Galaxy Tab S8", "iPad 10th gen", "Fire HD 10"),
        5900,
        10900,
    ),
    Service(
        "console-hdmi-port-repair",
        "Console HDMI Port Repair",
        "consoles",
        ("PlayStation 5", "Xbox Series X", "PlayStation 4 Pro"),
        6900,
        9900,
    ),
    Service(
        "console-overheating-repair",
        "Console Overheating Repair",
        "consoles",
        ("PlayStation 5", "Xbox Series S", "Nintendo Switch OLED"),
        5900,
        12900,
    ),
    Service(
        "data-recovery",
        "Data Recovery",
        "data-recovery",
        ("Laptop SSD", "External hard drive", "iPhone", "SD card"),
        14900,
        49900,
    ),
)

SERVICES_BY_SLUG: dict[str, Service] = {s.slug: s for s in SERVICES}
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(s.category for s in SERVICES))
SERVICES_BY_CATEGORY: dict[str, tuple[Service, ...]] = {
    c: tuple(s for s in SERVICES if s.category == c) for c in CATEGORIES
}


@dataclass(frozen=True)
class Page:
    """A page of the store's site."""

    path: str
    title: str
    name: str


def _service_pages() -> tuple[Page, ...]:
    return tuple(Page(s.path, f"{s.name} | RevivaTech", "Service") for s in SERVICES)


def _pricing_pages() -> tuple[Page, ...]:
    titles = {
        "phones": "Phone Repair Prices",
        "laptops": "Laptop Repair Prices",
        "tablets": "Tablet Repair Prices",
        "consoles": "Console Repair Prices",
        "data-recovery": "Data Recovery Prices",
    }
    return tuple(Page(f"/pricing/{c}", f"{titles[c]} | RevivaTech", "Pricing") for c in CATEGORIES)


BLOG_PAGES: tuple[Page, ...] = (
    Page("/blog/does-my-phone-battery-need-replacing", "Does My Phone Battery Need Replacing?", "Blog"),
    Page("/blog/water-damage-first-aid", "Dropped Your Phone in Water? Do This First", "Blog"),
    Page("/blog/screen-protector-myths", "Five Screen Protector Myths", "Blog"),
    Page("/blog/recover-data-from-a-dead-laptop", "Can Data Be Recovered From a Dead Laptop?", "Blog"),
    Page("/blog/ps5-overheating-fixes", "Why Your PS5 Overheats and How We Fix It", "Blog"),
    Page("/blog/repair-or-replace-your-macbook", "Repair or Replace Your MacBook?", "Blog"),
)

HOME = Page("/", "RevivaTech | Phone, Laptop, Tablet & Console Repair", "Home")
SERVICES_INDEX = Page("/services", "Repair Services | RevivaTech", "Services")
PRICING_INDEX = Page("/pricing", "Repair Prices | RevivaTech", "Pricing")
BOOK = Page("/book", "Book a Repair | RevivaTech", "Book")
BOOK_CONFIRM = Page("/book/confirm", "Booking Confirmed | RevivaTech", "Booking Confirmed")
CONTACT = Page("/contact", "Contact Us | RevivaTech", "Contact")
ABOUT = Page("/about", "About RevivaTech", "About")
REVIEWS = Page("/reviews", "Customer Reviews | RevivaTech", "Reviews")
FAQ = Page("/faq", "Repair FAQ | RevivaTech", "FAQ")
LOGIN = Page("/account/login", "Sign In | RevivaTech", "Login")
ACCOUNT_REPAIRS = Page("/account/repairs", "Your Repairs | RevivaTech", "Account")
BLOG_INDEX = Page("/blog", "Repair Tips & News | RevivaTech", "Blog")

SERVICE_PAGES: tuple[Page, ...] = _service_pages()
PRICING_PAGES: tuple[Page, ...] = _pricing_pages()
PAGES_BY_PATH: dict[str, Page] = {
    p.path: p
    for p in (
        HOME,
        SERVICES_INDEX,
        PRICING_INDEX,
        BOOK,
        BOOK_CONFIRM,
        CONTACT,
        ABOUT,
        REVIEWS,
        FAQ,
        LOGIN,
        ACCOUNT_REPAIRS,
        BLOG_INDEX,
        *SERVICE_PAGES,
        *PRICING_PAGES,
        *BLOG_PAGES,
    )
}
# Where casual visitors wander: the pages a person reads without a purchase in mind.
BROWSING_PAGES: tuple[Page, ...] = (
    HOME,
    SERVICES_INDEX,
    ABOUT,
    REVIEWS,
    FAQ,
    BLOG_INDEX,
    *BLOG_PAGES,
    *SERVICE_PAGES[:4],
)
CONTACT_METHODS: tuple[str, ...] = ("phone", "email", "whatsapp", "map")
APPOINTMENT_TYPES: tuple[str, ...] = ("walk-in", "mail-in", "collection")


@dataclass(frozen=True)
class Device:
    """A browser on a device: a real user-agent string and the screen it reports."""

    kind: str  # desktop | mobile | tablet | bot
    browser: str
    user_agent: str
    screen: tuple[int, int, float]
    weight: float


HUMAN_DEVICES: tuple[Device, ...] = (
    Device(
        "desktop",
        "Chrome",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        (1920, 1080, 1.0),
        0.17,
    ),
    Device(
        "desktop",
        "Chrome",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        (1512, 982, 2.0),
        0.06,
    ),
    Device(
        "desktop",
        "Edge",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        (1536, 864, 1.25),
        0.06,
    ),
    Device(
        "desktop",
        "Firefox",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        (1920, 1080, 1.0),
        0.04,
    ),
    Device(
        "desktop",
        "Firefox",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        (2560, 1440, 1.0),
        0.01,
    ),
    Device(
        "desktop",
        "Safari",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        (1440, 900, 2.0),
        0.06,
    ),
    Device(
        "mobile",
        "Mobile Safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        (390, 844, 3.0),
        0.24,
    ),
    Device(
        "mobile",
        "Chrome Mobile iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        (393, 852, 3.0),
        0.03,
    ),
    Device(
        "mobile",
        "Chrome Mobile",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        (412, 915, 2.625),
        0.17,
    ),
    Device(
        "mobile",
        "Samsung Internet",
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        (360, 780, 3.0),
        0.05,
    ),
    Device(
        "tablet",
        "Mobile Safari",
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.7 Mobile/15E148 Safari/604.1",
        (820, 1180, 2.0),
        0.08,
    ),
    Device(
        "tablet",
        "Chrome",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        (1600, 2560, 2.0),
        0.03,
    ),
)

BOT_DEVICES: tuple[Device, ...] = (
    Device(
        "bot",
        "Googlebot",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        (1024, 1024, 1.0),
        0.30,
    ),
    Device(
        "bot",
        "Googlebot",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        (412, 732, 2.625),
        0.20,
    ),
    Device(
        "bot",
        "bingbot",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        (1024, 768, 1.0),
        0.20,
    ),
    Device(
        "bot",
        "AhrefsBot",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        (1024, 768, 1.0),
        0.10,
    ),
    Device("bot", "curl", "curl/8.5.0", (0, 0, 1.0), 0.12),
    Device("bot", "python-requests", "python-requests/2.32.3", (0, 0, 1.0), 0.08),
)

# (locale, weight): a London store, mostly English-speaking visitors.
LOCALES: tuple[tuple[str, float], ...] = (
    ("en-GB", 0.78),
    ("en-US", 0.08),
    ("pl-PL", 0.04),
    ("ro-RO", 0.03),
    ("es-ES", 0.03),
    ("fr-FR", 0.02),
    ("pt-BR", 0.02),
)


@dataclass(frozen=True)
class Place:
    """Where a device browses from, as CloudFront names it in the viewer headers it adds.

    `region` is the ISO 3166-2 subdivision code without the country (CloudFront's
    `CloudFront-Viewer-Country-Region`); `weight` is the share of devices browsing from there.
    """

    country: str
    region: str
    city: str
    weight: float


# A London store: most visitors are in London or elsewhere in the UK, a few abroad.
HUMAN_PLACES: tuple[Place, ...] = (
    Place("GB", "ENG", "London", 0.62),
    Place("GB", "ENG", "Manchester", 0.05),
    Place("GB", "ENG", "Birmingham", 0.05),
    Place("GB", "SCT", "Edinburgh", 0.03),
    Place("GB", "WLS", "Cardiff", 0.02),
    Place("IE", "L", "Dublin", 0.04),
    Place("US", "NY", "New York", 0.04),
    Place("PL", "14", "Warsaw", 0.03),
    Place("RO", "B", "Bucharest", 0.03),
    Place("ES", "M", "Madrid", 0.03),
    Place("FR", "IDF", "Paris", 0.02),
    Place("PT", "11", "Lisbon", 0.02),
    Place("BR", "SP", "São Paulo", 0.02),
)
# Crawlers and scripts run in data centres.
BOT_PLACES: tuple[Place, ...] = (
    Place("US", "VA", "Ashburn", 0.5),
    Place("US", "OR", "Boardman", 0.2),
    Place("DE", "HE", "Frankfurt am Main", 0.2),
    Place("IE", "L", "Dublin", 0.1),
)


ORGANIC_SEARCH_REFERRERS: tuple[str, ...] = (
    "https://www.google.com/",
    "https://www.google.co.uk/",
    "https://www.google.co.uk/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://search.yahoo.com/",
    "https://www.ecosia.org/",
)
SOCIAL_REFERRERS: tuple[str, ...] = (
    "https://www.facebook.com/",
    "https://m.facebook.com/",
    "https://l.instagram.com/",
    "https://t.co/",
    "https://www.reddit.com/r/london/",
    "https://www.tiktok.com/",
    "https://www.linkedin.com/",
)
REFERRAL_REFERRERS: tuple[str, ...] = (
    "https://www.trustpilot.com/review/revivatech.co.uk",
    "https://www.yell.com/biz/revivatech-london-901234/",
    "https://www.ifixit.com/Answers/View/812345/Where+to+get+a+screen+fixed+in+London",
    "https://www.timeout.com/london/shopping/best-phone-repair-shops-in-london",
)


@dataclass(frozen=True)
class Campaign:
    """A marketing campaign: the UTM parameters and click id its links carry."""

    key: str
    source: str
    medium: str
    name: str
    terms: tuple[str, ...]
    contents: tuple[str, ...]
    # The query parameter the ad platform appends to the landing URL (auto-tagging).
    click_id_param: str | None
    # What the browser reports as document.referrer when the visitor lands.
    referrers: tuple[str, ...]
    landing_paths: tuple[str, ...]
    weight: float
    # The channel the pipeline should attribute the landing to (for comparing with enrich).
    channel: str


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "google-screen-repair",
        "google",
        "cpc",
        "screen-repair-always-on",
        ("iphone screen repair near me", "cracked screen repair london", "samsung screen replacement"),
        ("rsa-screen-1", "rsa-screen-2"),
        "gclid",
        ("https://www.google.com/", "https://www.google.co.uk/"),
        ("/services/iphone-screen-repair", "/services/samsung-screen-repair", "/pricing/phones"),
        0.30,
        "paid_search",
    ),
    Campaign(
        "google-laptop-q4",
        "google",
        "cpc",
        "laptop-repair-q4",
        ("laptop repair london", "macbook battery replacement", "laptop screen replacement cost"),
        ("rsa-laptop-1",),
        "gclid",
        ("https://www.google.co.uk/",),
        ("/services/laptop-repair", "/services/macbook-battery-replacement", "/pricing/laptops"),
        0.15,
        "paid_search",
    ),
    Campaign(
        "bing-data-recovery",
        "bing",
        "cpc",
        "data-recovery-search",
        ("data recovery service", "recover files from broken laptop"),
        ("text-ad-1",),
        "msclkid",
        ("https://www.bing.com/",),
        ("/services/data-recovery",),
        0.07,
        "paid_search",
    ),
    Campaign(
        "facebook-black-friday",
        "facebook",
        "paid_social",
        "black-friday-battery",
        (),
        ("carousel-1", "video-15s", "single-image-b"),
        "fbclid",
        ("https://l.facebook.com/", "http://m.facebook.com/"),
        ("/services/phone-battery-replacement", "/services/macbook-battery-replacement", "/pricing"),
        0.20,
        "paid_social",
    ),
    Campaign(
        "instagram-console-winter",
        "instagram",
        "paid_social",
        "console-repair-winter",
        (),
        ("reel-ps5", "story-xbox"),
        "fbclid",
        ("https://l.instagram.com/",),
        ("/services/console-hdmi-port-repair", "/services/console-overheating-repair"),
        0.10,
        "paid_social",
    ),
    Campaign(
        "newsletter-november",
        "newsletter",
        "email",
        "november-newsletter",
        (),
        ("hero-button", "footer-link", "battery-tip"),
        None,
        ("",),
        ("/blog/does-my-phone-battery-need-replacing", "/pricing", "/services"),
        0.18,
        "email",
    ),
)

CAMPAIGNS_BY_KEY: dict[str, Campaign] = {c.key: c for c in CAMPAIGNS}
# A campaign a visitor may click mid-visit (a newsletter arriving while they browse).
MID_VISIT_CAMPAIGN_KEY = "newsletter-november"

# Trait generation: fictitious people, reserved e-mail domains (RFC 2606) and Ofcom's drama
# range of mobile numbers, so no simulated identifier can belong to a real person.
FIRST_NAMES: tuple[str, ...] = (
    "amelia",
    "oliver",
    "isla",
    "george",
    "ava",
    "noah",
    "mia",
    "arthur",
    "priya",
    "mohammed",
    "zofia",
    "luca",
    "chloe",
    "kwame",
    "sofia",
    "jack",
)
LAST_NAMES: tuple[str, ...] = (
    "smith",
    "jones",
    "taylor",
    "brown",
    "patel",
    "khan",
    "nowak",
    "wilson",
    "evans",
    "thomas",
    "okafor",
    "rossi",
    "murphy",
    "walker",
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "mail.example.com")
PHONE_PREFIX = "+447700900"  # +44 7700 900000-900999: reserved for fiction
