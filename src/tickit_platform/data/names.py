"""Vocabulary for synthetic tickit rows: plausible names, places and events, nothing real about people."""

from __future__ import annotations

FIRST_NAMES = (
    "Aaron", "Abigail", "Adam", "Alana", "Alec", "Amelia", "Barry", "Beatrice", "Blake", "Brenda", "Caleb",
    "Camille", "Carter", "Cecilia", "Dale", "Daphne", "Dean", "Delia", "Eli", "Elaine", "Emmett", "Erin",
    "Felix", "Fiona", "Gavin", "Gemma", "Gregory", "Hannah", "Harper", "Hector", "Ivy", "Isaac", "Jade",
    "Jasper", "Joan", "Julian", "Kara", "Keith", "Kirsten", "Lamar", "Leah", "Lionel", "Lucy", "Malik",
    "Maren", "Maxine", "Miles", "Nadia", "Nathan", "Nora", "Oliver", "Olga", "Orson", "Paige", "Perry",
    "Quinn", "Rafael", "Rhoda", "Rory", "Sabrina", "Simon", "Sophie", "Tate", "Thea", "Troy", "Uma",
    "Victor", "Vivian", "Wade", "Willa", "Xavier", "Yara", "Zane", "Zelda",
)  # fmt: skip

LAST_NAMES = (
    "Abbott", "Barker", "Benson", "Carver", "Chandler", "Dawson", "Dillard", "Ellison", "Farrell", "Fletcher",
    "Garner", "Griffin", "Hale", "Hartman", "Ingram", "Jennings", "Keller", "Kirby", "Lambert", "Lowery",
    "Mathis", "Mercer", "Nash", "Norris", "Osborne", "Pacheco", "Preston", "Quintero", "Ramsey", "Rollins",
    "Sawyer", "Shepard", "Tanner", "Thornton", "Underwood", "Vance", "Wallace", "Whitfield", "Yates", "Zamora",
)  # fmt: skip

# (city, state) pairs; venues and users share them so "local" audiences exist.
CITIES = (
    ("New York City", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"), ("Phoenix", "AZ"),
    ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"), ("Dallas", "TX"), ("San Jose", "CA"),
    ("Boston", "MA"), ("Seattle", "WA"), ("Denver", "CO"), ("Nashville", "TN"), ("Las Vegas", "NV"),
    ("Portland", "OR"), ("Miami", "FL"), ("Atlanta", "GA"), ("Minneapolis", "MN"), ("Cleveland", "OH"),
    ("Kansas City", "MO"), ("Pittsburgh", "PA"), ("Baltimore", "MD"), ("St. Louis", "MO"), ("Tampa", "FL"),
    ("Detroit", "MI"), ("Milwaukee", "WI"), ("Salt Lake City", "UT"), ("Charlotte", "NC"), ("Orlando", "FL"),
)  # fmt: skip

VENUE_KINDS = ("Stadium", "Arena", "Field", "Theatre", "Center", "Hall", "Park", "Amphitheatre", "Ballpark", "Dome")
VENUE_WORDS = (
    "Liberty", "Pioneer", "Harbor", "Summit", "Riverside", "Union", "Heritage", "Lakeside", "Capitol", "Eagle",
    "Granite", "Civic", "Majestic", "Orpheum", "Paramount", "Sterling", "Crescent", "Beacon", "Legacy", "Meridian",
)  # fmt: skip

EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")

# The official 11 categories, verbatim: a published reference table, not personal data.
CATEGORIES = (
    (1, "Sports", "MLB", "Major League Baseball"),
    (2, "Sports", "NHL", "National Hockey League"),
    (3, "Sports", "NFL", "National Football League"),
    (4, "Sports", "NBA", "National Basketball Association"),
    (5, "Sports", "MLS", "Major League Soccer"),
    (6, "Shows", "Musicals", "Musical theatre"),
    (7, "Shows", "Plays", "All non-musical theatre"),
    (8, "Shows", "Opera", "All opera and light opera"),
    (9, "Concerts", "Pop", "All rock and pop music concerts"),
    (10, "Concerts", "Jazz", "All jazz singers and bands"),
    (11, "Concerts", "Classical", "All symphony, concerto, and choir concerts"),
)

# Event names per category id. The first musicals are the long-running hits that dominate sales.
EVENT_NAMES: dict[int, tuple[str, ...]] = {
    1: ("Harbor Gulls", "Capitol Foxes", "Summit Miners", "Lakeside Herons", "Granite Bears", "River Otters"),
    2: ("Ice Hawks", "Frost Wolves", "Polar Kings", "Glacier Lynx", "North Stars Exhibition"),
    3: ("Iron Rams", "Thunder Bison", "Coastal Sharks", "Prairie Mustangs", "Steel Falcons"),
    4: ("Sky Dunkers", "Metro Comets", "Desert Suns", "Harbor Jets", "Valley Blaze"),
    5: ("United FC", "Athletic Club", "Rovers", "City SC", "Galaxy Stars"),
    6: (
        "Mamma Mia!",
        "The Lion King",
        "Wicked",
        "Jersey Boys",
        "Hairspray",
        "Chicago",
        "Grease",
        "Legally Blonde",
        "Spring Awakening",
        "A Chorus Line",
        "Rent",
        "Cats",
    ),
    7: ("Hamlet", "Macbeth", "Our Town", "The Seagull", "Uncle Vanya", "Twelfth Night", "Doubt", "Equus"),
    8: ("La Boheme", "Carmen", "Tosca", "Aida", "Rigoletto", "Don Giovanni", "Gotterdammerung", "Fidelio"),
    9: ("Neon Harbor", "The Paper Kites", "Velvet Static", "Silver Lanes", "Echo Parade", "Golden Hour"),
    10: ("Blue Note Trio", "Midnight Quartet", "Brass Alley", "Smoky Keys", "Late Set Sextet"),
    11: ("Symphony No. 5", "Requiem", "The Four Seasons", "Messiah", "Brandenburg Concertos", "Bolero"),
}

US_HOLIDAYS_2008 = (
    "2008-01-01", "2008-01-21", "2008-02-18", "2008-05-26", "2008-07-04", "2008-09-01", "2008-10-13",
    "2008-11-11", "2008-11-27", "2008-12-25",
)  # fmt: skip
