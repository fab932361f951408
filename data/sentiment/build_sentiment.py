#!/usr/bin/env python3
"""Build the project-authored movie-review openings in data/sentiment/.

Run from the repository root:

    python data/sentiment/build_sentiment.py

Each line is the opening of a film review, cut where the reviewer is about to give a verdict, the way
IMDB reviews are cut into prompts for the classic sentiment PPO setup. Openings come from hand-written
patterns filled with invented film titles, people, genres and settings; a few lean positive or negative,
most are neutral, so the verdict is left to the policy. Held-out openings are about films that never
appear in training. `sft_reviews.jsonl` finishes each training opening with a hand-written verdict,
half of them positive and half negative, for the embedded model's pre-training (the classic setup
starts PPO from a model fine-tuned on IMDB reviews of both kinds). Only the standard library is used;
the output is byte-identical on every run.
"""

import json
import random
from pathlib import Path

SEED = 3
OUT_DIR = Path(__file__).resolve().parent
N_TRAIN, N_HELDOUT = 320, 80
N_HELDOUT_TITLES = 12

TITLES = [
    "The Quiet Harbor", "Midnight at the Alder Hotel", "Paper Lanterns", "The Last Orchard", "Copper Sky",
    "Beneath the Salt Flats", "A Winter in Lisbon", "The Cartographer's Daughter", "Static Bloom",
    "Nine Days North", "The Glass Parade", "Riverbend", "Hollow Crown Road", "The Understudy",
    "Signal Fire", "Lemon Season", "The Long Exposure", "Ashfall", "Greyhound Summer", "The Tin Astronomer",
    "Small Hours", "Dead Reckoning Bay", "The Velvet Ledger", "Marigold Street", "Echo Canyon",
    "The Borrowed Coat", "Night Ferry", "Sugar and Rust", "The Orchid Thief's Apprentice", "Lowlands",
    "Blue Hour Motel", "The Second Tenant", "Parallel Lines", "Harvest Moon Rising", "The Ferryman's Song",
    "Iron Lullaby", "Driftwood", "The Hundred-Year Storm", "Chalk Hearts", "Open Water",
    "The Lighthouse Keeper's Cat", "Kingdom of Dust", "A Map of Small Things", "Saltwater Saints",
    "The Clockmaker's Wager", "Northern Lights Diner", "Borrowed Time", "The Silent Partner",
]
GENRES = ["thriller", "romantic comedy", "period drama", "horror film", "science fiction film", "documentary",
          "family adventure", "crime drama", "musical", "war film", "coming-of-age story", "heist movie",
          "psychological drama", "hand-drawn animated feature", "western", "mystery"]
DIRECTORS = ["Elena Marsh", "Tobias Reyes", "Hana Okafor", "Michel Durand", "Priya Raman", "Samuel Whitcombe",
             "Ingrid Solberg", "Diego Alvarez", "Mei Tanaka", "Colm Gallagher", "Nadia Petrova", "Oliver Brandt"]
ACTORS = ["Clara Voss", "James Holloway", "Amara Nwosu", "Luca Bianchi", "Sofia Lind", "Daniel Kwan-Hart",
          "Rosa Delgado", "Theo Marchetti", "Yuki Mori", "Grace Adeyemi", "Felix Brandauer", "Isla McKenzie",
          "Omar Haddad", "Lena Kowalski", "Marcus Bell", "Anya Sorensen"]
ROLES = ["a retired detective", "a small-town baker", "a grieving father", "a ship's captain", "an ambitious lawyer",
         "a runaway teenager", "a jazz pianist", "a tired schoolteacher", "a con artist", "a young widow",
         "an astronaut on her last mission", "a forger", "a country doctor", "a disgraced journalist"]
SETTINGS = ["a fishing village in the 1950s", "a snowed-in mountain lodge", "a crumbling seaside resort",
            "a space station orbiting Jupiter", "a boarding school in the Scottish Highlands",
            "a border town in the desert", "a Paris apartment block", "a travelling circus",
            "a night shift at a city hospital", "a vineyard during harvest", "a submarine", "a small island ferry"]
RUNTIMES = ["ninety minutes", "almost two hours", "two and a half hours", "a brisk eighty-five minutes"]

# Where each opening is cut: before a whole clause ("..., and" + "it is ...") or before a verb phrase
# whose subject is the film ("From its opening scene, The Quiet Harbor" + "is ...").
PATTERNS = [
    ("I went into {title} knowing almost nothing about it, and", "clause"),
    ("{title} is the kind of {genre} that", "predicate"),
    ("Halfway through {title}, I realised that", "clause"),
    ("The first thing you notice about {title} is the sound, and", "clause"),
    ("It has been a long time since I saw a {genre}, and", "clause"),
    ("{actor} plays {role} in {title}, and", "clause"),
    ("I wanted to like {title}, but", "clause"),
    ("From its opening scene, {title}", "predicate"),
    ("{director}'s new {genre} is set in {setting}, and", "clause"),
    ("At {runtime}, {title}", "predicate"),
    ("My expectations for {title} were low, so", "clause"),
    ("I have seen a lot of films set in {setting}, but {title}", "predicate"),
    ("The trailer for {title} promised a tense {genre}, and the film itself", "predicate"),
    ("{title} opens with {actor} alone on screen, and", "clause"),
    ("If you liked {director}'s earlier work, {title}", "predicate"),
    ("There is a moment in {title} when {role} finally speaks up, and", "clause"),
    ("I watched {title} with my family last weekend, and", "clause"),
    ("On paper, a {genre} set in {setting} sounds promising, and", "clause"),
    ("The soundtrack of {title}", "predicate"),
    ("Critics have been divided about {title}, but for me", "clause"),
    ("{title} tells the story of {role} in {setting}, and", "clause"),
    ("The best thing I can say about {title} is that", "clause"),
    ("{actor} and {actor2} share the screen in {title}, and", "clause"),
    ("Going by the reviews, {title} should have been a hit, and", "clause"),
    ("After the credits of {title} rolled, I realised that", "clause"),
    ("Judged purely as a {genre}, {title}", "predicate"),
    ("{director} has a reputation for slow, careful films, and {title}", "predicate"),
    ("The screenplay of {title}", "predicate"),
    ("I rented {title} on a rainy Sunday afternoon, and", "clause"),
    ("The cinematography in {title}", "predicate"),
    ("Ten minutes into {title}, I already knew that", "clause"),
    ("For a {genre} with such a small budget, {title}", "predicate"),
    ("{title} is {director}'s first film in six years, and", "clause"),
    ("Whatever you have heard about {title},", "clause"),
    ("The ending of {title}", "predicate"),
]

# Verdicts that finish an opening, half positive and half negative, so the pre-trained policy starts
# out undecided and PPO has a direction to move in.
VERDICTS = {
    ("clause", "positive"): [
        "it turned out to be one of the most moving films I have seen this year.",
        "it kept me hooked until the very last scene.", "I left the cinema grinning like a child.",
        "the whole cast is wonderful, especially in the quieter scenes.", "it is funny, warm and beautifully shot.",
        "I loved every minute of it.", "the story is told with real care and a light touch.",
        "it is a small, honest gem that deserves a bigger audience.", "I cannot wait to watch it again.",
        "it is easily the best film I have seen in months.",
        "the performances are so natural that I forgot I was watching actors.",
        "it made me laugh and cry in the same scene.", "the final act is pure joy.",
        "it is smart, tender and surprisingly hopeful.", "I was delighted by how fresh it felt.",
    ],
    ("clause", "negative"): [
        "it is a dull, muddled mess.", "I was checking my watch within twenty minutes.",
        "the plot makes no sense at all.", "the acting is flat and the dialogue is painful.",
        "it wastes a talented cast on a lazy script.", "I regret every minute I spent on it.",
        "it drags on long after the story runs out of ideas.", "the ending is a cheap and irritating twist.",
        "it is the most boring film I have seen this year.", "nothing about it feels real or earned.",
        "I would not recommend it to anyone.", "the jokes fall flat and the drama feels forced.",
        "it is loud, messy and utterly forgettable.", "the characters are so thin that I stopped caring.",
        "it left me cold and disappointed.",
    ],
    ("predicate", "positive"): [
        "is a quiet triumph from start to finish.", "is funny, warm and beautifully acted.",
        "never puts a foot wrong.", "is a joy to watch, full of charm and heart.",
        "is the best thing its director has made.", "looks gorgeous and earns every one of its emotional moments.",
        "is clever, moving and often very funny.", "tells a wonderful, satisfying story.",
        "is a small masterpiece that deserves to be seen.", "is a delight, with a cast that clearly loved making it.",
        "grips from the first scene and never lets go.", "feels fresh, confident and full of life.",
        "is a beautiful, generous film.", "succeeds on every level.", "is a lovely surprise.",
    ],
    ("predicate", "negative"): [
        "is a tedious slog with nothing to say.", "never finds its footing.", "is a mess of half-finished ideas.",
        "feels twice as long as it is.", "is dull, lifeless and badly paced.",
        "wastes its cast on a lazy, predictable script.", "is a noisy, empty disappointment.",
        "falls apart in the second half.", "is the worst film I have seen this year.", "feels cheap and rushed.",
        "is boring from the first scene to the last.", "squanders a promising idea.",
        "is clumsy, cold and forgettable.", "never becomes more than a string of cliches.",
        "is painfully slow and unbearably smug.",
    ],
}


def main() -> None:
    rng = random.Random(SEED)
    titles = TITLES[:]
    rng.shuffle(titles)
    heldout_titles, train_titles = titles[:N_HELDOUT_TITLES], titles[N_HELDOUT_TITLES:]

    def openings(pool: list[str], n: int, exclude: dict[str, str]) -> dict[str, str]:
        """{opening: the kind of words that finish it}, none of them in `exclude`"""
        seen: dict[str, str] = {}
        while len(seen) < n:
            actor, actor2 = rng.sample(ACTORS, 2)
            pattern, slot = rng.choice(PATTERNS)
            text = pattern.format(
                title=rng.choice(pool), genre=rng.choice(GENRES), director=rng.choice(DIRECTORS), actor=actor,
                actor2=actor2, role=rng.choice(ROLES), setting=rng.choice(SETTINGS), runtime=rng.choice(RUNTIMES),
            )
            text = text[0].upper() + text[1:]
            if text not in exclude:  # a pattern without a title can come up in both splits
                seen.setdefault(text, slot)
        return seen

    train = openings(train_titles, N_TRAIN, exclude={})
    heldout = openings(heldout_titles, N_HELDOUT, exclude=train)
    (OUT_DIR / "train.txt").write_text("\n".join(train) + "\n")
    (OUT_DIR / "eval.txt").write_text("\n".join(heldout) + "\n")
    # TRL's prompt-completion format, for training openings only: each finished by a verdict, alternately
    # positive and negative. The embedded policy model pre-trains on prompt + completion as one text.
    with open(OUT_DIR / "sft_reviews.jsonl", "w") as f:
        for i, (opening, slot) in enumerate(train.items()):
            verdict = rng.choice(VERDICTS[slot, ("positive", "negative")[i % 2]])
            f.write(json.dumps({"prompt": opening, "completion": " " + verdict}) + "\n")
    print(f"{N_TRAIN} training and {N_HELDOUT} held-out openings")


if __name__ == "__main__":
    main()
