"""A tiny synthetic film catalogue whose genres a real language model can tell apart.

Forty items in four genres with distinct titles and descriptions written in plain English
(unlike `genres`, whose texts only a bag of words needs to tell apart); sessions stay
mostly within one genre, so a model trained for a few epochs learns the genre structure
and a typed request ("an animated film for children") has an unambiguous right answer.
Used as a module: `from sessionrec.testing import films; films.ids_of("Horror")`.
"""

from __future__ import annotations

import numpy as np

from sessionrec.data.schema import Catalogue, Interactions, make_catalogue
from sessionrec.testing.logs import interactions

GENRES: dict[str, tuple[str, list[str]]] = {
    "Animation": (
        "An animated cartoon for children and families, with talking animals and songs.",
        [
            "Pixel Pals", "The Little Dragon", "Toy Town Adventure", "Bubbles the Fish",
            "Moonlight Bunny", "Robot Puppy", "Candy Castle", "The Singing Snowman",
            "Teddy's Big Day", "Rainbow Ponies",
        ],
    ),
    "Horror": (
        "A terrifying horror film with ghosts, blood, screams and a haunted house.",
        [
            "The Haunting at Midnight", "Blood Manor", "Night of the Ghouls", "The Cellar",
            "Scream Forest", "Dead Silence Hill", "The Possessed", "Grave Whispers",
            "Skull Lake", "The Crypt Keeper's Curse",
        ],
    ),
    "Comedy": (
        "A funny romantic comedy for adults, full of jokes and awkward situations.",
        [
            "Wedding Mix-Up", "Office Pranks", "My Neighbour the Clown", "Laugh Out Loud",
            "The Best Man's Worst Day", "Vacation Disaster", "Dinner Party Chaos",
            "Speed Dating", "The Awkward Roommate", "Stand-Up Dad",
        ],
    ),
    "Documentary": (
        "A documentary about nature, science and history, with interviews and archive footage.",
        [
            "Oceans Deep", "The History of Rome", "Life of Bees", "Mountains and Glaciers",
            "Inside the Cell", "Great Inventors", "Desert Winds", "The Space Race",
            "Rainforest Secrets", "Voices of War",
        ],
    ),
}  # fmt: skip
"""Genre → (the description every film of the genre shares, the films' titles)."""


def items() -> list[tuple[str, str, str, str]]:
    """(item_id, title, text, genre) for every item; ids are "1".."40"."""
    out: list[tuple[str, str, str, str]] = []
    for genre, (text, titles) in GENRES.items():
        for title in titles:
            out.append((str(len(out) + 1), title, f"{title}. {text}", genre))
    return out


def genre_of() -> dict[str, str]:
    """Item id → genre."""
    return {item_id: genre for item_id, _, _, genre in items()}


def ids_of(genre: str) -> list[str]:
    """The ids of one genre's films, in catalogue order."""
    return [item_id for item_id, _, _, g in items() if g == genre]


def catalogue() -> Catalogue:
    """The 40 films: title, "<title>. <genre description>" as text, the genre as the only
    category and a "year" attribute."""
    rows = items()
    return make_catalogue(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [[r[3]] for r in rows],
        [{"year": str(1990 + int(r[0]) % 30)} for r in rows],
    )


def sessions(n_sessions: int = 240, seed: int = 0) -> Interactions:
    """Sessions of 4-8 items, 90 % of them from the session's genre."""
    rng = np.random.default_rng(seed)
    genres = list(GENRES)
    rows: list[tuple[str, str, float]] = []
    clock = 1_000_000.0
    for s in range(n_sessions):
        home = ids_of(genres[s % len(genres)])
        every = [r[0] for r in items()]
        for _ in range(int(rng.integers(4, 9))):
            pool = home if rng.random() < 0.9 else every
            rows.append((f"s{s}", str(rng.choice(pool)), clock))
            clock += 1.0
    return interactions(rows)
