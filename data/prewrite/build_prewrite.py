#!/usr/bin/env python3
"""Build the project-authored PRewrite dataset in data/prewrite/.

Run from the repository root:

    python data/prewrite/build_prewrite.py

Three tasks in the PRewrite JSONL format (`instruction`, `input`, `output`, `task`):
arithmetic word problems (math), questions about a short invented passage (qa) and the
sentiment of short product/place reviews (classification). Every text is generated here
from hand-written vocabularies and sentence patterns with a fixed seed; people, places
and companies are invented. Only the standard library is used, and running it again
gives byte-identical files.

Each task has three deliberately terse "original" instructions (the kind PRewrite starts
from); each instruction gets its own examples, and the held-out file uses new examples
under the same instructions (the PRewrite setting: the rewrite of an instruction is
judged on that task's test examples).
"""

import json
import random
from pathlib import Path

SEED = 2024
OUT_DIR = Path(__file__).resolve().parent
TRAIN_PER_INSTRUCTION = 40
EVAL_PER_INSTRUCTION = 12

INSTRUCTIONS = {
    "math": ["Solve the problem.", "Work out the answer to this question.", "Calculate the result."],
    "qa": ["Answer the question.", "Read the text and respond.", "Find the answer in the passage."],
    "classification": ["Classify the review.", "What is the sentiment of this text?", "Label the review."],
}

# ---------------------------------------------------------------------------
# math: arithmetic word problems, answers are whole numbers.
# ---------------------------------------------------------------------------

NAMES = ["Maya", "Omar", "Lena", "Tomas", "Aiko", "Ravi", "Sofia", "Jonas", "Priya", "Mateo",
         "Nora", "Kwame", "Elif", "Hugo", "Zara", "Daniel", "Ines", "Felix", "Amara", "Leo"]
ITEMS = ["apples", "pencils", "stickers", "marbles", "cookies", "books", "oranges", "cards",
         "shells", "stamps", "balloons", "muffins", "crayons", "buttons", "tomatoes", "coins"]
CONTAINERS = [("box", "boxes"), ("bag", "bags"), ("crate", "crates"), ("jar", "jars"), ("tray", "trays")]
VEHICLES = ["train", "bus", "cyclist", "truck", "boat", "car"]


def math_problem(rng: random.Random) -> tuple[str, int]:
    name, friend = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    kind = rng.randrange(8)
    if kind == 0:
        a, b = rng.randint(3, 40), rng.randint(2, 30)
        return f"{name} has {a} {item}. {name} buys {b} more. How many {item} does {name} have now?", a + b
    if kind == 1:
        a = rng.randint(12, 60)
        b = rng.randint(2, a - 3)
        return f"{name} had {a} {item} and gave {b} of them to {friend}. How many {item} does {name} have left?", a - b
    if kind == 2:
        a, b = rng.randint(3, 12), rng.randint(2, 9)
        one, many = rng.choice(CONTAINERS)
        return f"A {one} holds {a} {item}. How many {item} are there in {b} {many}?", a * b
    if kind == 3:
        share, friends = rng.randint(2, 9), rng.randint(2, 6)
        return (f"{name} shares {share * friends} {item} equally among {friends} friends. "
                f"How many {item} does each friend get?", share)
    if kind == 4:
        speed, hours = rng.choice([12, 15, 20, 25, 30, 40, 45, 50, 60, 80]), rng.randint(2, 6)
        vehicle = rng.choice(VEHICLES)
        return f"A {vehicle} travels {speed} kilometres every hour. How many kilometres does it travel in {hours} hours?", speed * hours
    if kind == 5:
        weekly, weeks = rng.randint(3, 15), rng.randint(2, 8)
        spent = rng.randint(1, weekly * weeks - 1)
        return (f"{name} saves {weekly} dollars every week for {weeks} weeks and then spends {spent} dollars "
                f"on a gift. How many dollars does {name} have left?", weekly * weeks - spent)
    if kind == 6:
        morning, afternoon = rng.randint(10, 70), rng.randint(10, 70)
        return (f"A bakery sold {morning} {item} in the morning and {afternoon} in the afternoon. "
                f"How many {item} did it sell in total?", morning + afternoon)
    price, count = rng.randint(3, 15), rng.randint(2, 9)
    return f"A ticket to the museum costs {price} dollars. How many dollars do {count} tickets cost?", price * count


# ---------------------------------------------------------------------------
# qa: a two-sentence invented passage and a question whose answer is a span of it.
# ---------------------------------------------------------------------------

FIRST = ["Mira", "Anton", "Selma", "Joaquin", "Hana", "Tobias", "Yusuf", "Clara", "Ivo", "Noor",
         "Bruno", "Keiko", "Marta", "Samir", "Edda", "Rafael"]
LAST = ["Kovac", "Lindqvist", "Okafor", "Moreau", "Tanaka", "Brandt", "Haddad", "Novak", "Castillo",
        "Ferreira", "Aalto", "Mensah", "Quint", "Sorensen"]
CITIES = ["Lisbon", "Oslo", "Nairobi", "Porto", "Kyoto", "Tallinn", "Lima", "Krakow", "Valencia",
          "Ghent", "Dakar", "Hobart", "Bergen", "Cordoba", "Tbilisi", "Quebec"]
JOBS = ["pilot", "baker", "architect", "nurse", "geologist", "violinist", "carpenter", "chemist",
        "librarian", "translator", "beekeeper", "surveyor"]
PRODUCTS = ["bicycles", "kayaks", "tea kettles", "hiking boots", "desk lamps", "wool blankets",
            "garden tools", "ceramic mugs", "solar chargers", "wooden toys"]
COMPANY_WORDS = ["Northwind", "Pebble", "Alder", "Lumen", "Brightfield", "Cobalt", "Willow", "Ember",
                 "Harbor", "Juniper"]
COMPANY_KINDS = ["Works", "Labs", "Company", "Outfitters", "Studio", "Goods"]
MONTHS = ["January", "March", "April", "May", "June", "July", "September", "October", "November"]
FESTIVALS = ["lantern festival", "kite festival", "jazz week", "harvest fair", "film festival",
             "book fair", "winter market"]
TOWNS = ["Eastbrook", "Millhaven", "Stonebridge", "Ashford", "Redcliff", "Larkspur", "Fernvale"]


def with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def qa_example(rng: random.Random) -> tuple[str, str]:
    person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    kind = rng.randrange(4)
    if kind == 0:
        city, year, job = rng.choice(CITIES), rng.randint(1950, 2001), rng.choice(JOBS)
        passage = f"{person} was born in {city} in {year}. Today {person.split()[0]} works as {with_article(job)}."
        question, answer = rng.choice([(f"Where was {person} born?", city),
                                       (f"In which year was {person} born?", str(year)),
                                       (f"What does {person} work as?", job)])
    elif kind == 1:
        company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
        city, product = rng.choice(CITIES), rng.choice(PRODUCTS)
        passage = f"{company} was founded by {person} in {city}. The company makes {product}."
        question, answer = rng.choice([(f"Who founded {company}?", person),
                                       (f"What does {company} make?", product),
                                       (f"In which city was {company} founded?", city)])
    elif kind == 2:
        festival, town, month = rng.choice(FESTIVALS), rng.choice(TOWNS), rng.choice(MONTHS)
        days = rng.randint(2, 9)
        passage = f"The {festival} of {town} takes place every {month}. It lasts {days} days and is organised by {person}."
        question, answer = rng.choice([(f"In which month does the {festival} of {town} take place?", month),
                                       (f"How many days does the {festival} of {town} last?", str(days)),
                                       (f"Who organises the {festival} of {town}?", person)])
    else:
        city, other = rng.sample(CITIES, 2)
        job = rng.choice(JOBS)
        passage = f"{person} trained as {with_article(job)} in {city} and later moved to {other}."
        question, answer = rng.choice([(f"Where did {person} train?", city),
                                       (f"Where did {person} move to?", other),
                                       (f"What did {person} train as?", job)])
    return f"Passage: {passage}\nQuestion: {question}", answer


# ---------------------------------------------------------------------------
# classification: one or two sentences of a review, all of one polarity.
# ---------------------------------------------------------------------------

REVIEW_SUBJECTS = {
    "headphones": (["The sound is clear and the bass is rich.", "They are light and comfortable for hours.",
                    "The battery easily lasts a whole week.", "Pairing with my phone took seconds.",
                    "The noise cancelling works wonders on the train.", "They fold flat and fit in any bag."],
                   ["The left ear cup stopped working after a week.", "They pinch my ears after twenty minutes.",
                    "The battery dies before lunch.", "The sound crackles at any volume.",
                    "The cable frayed within days.", "The app keeps losing the connection."]),
    "restaurant": (["The soup was delicious and the staff were friendly.", "Our table was ready on time.",
                    "Generous portions at a fair price.", "The dessert was the best I have had this year.",
                    "The chef came out to greet every table.", "Fresh bread arrived warm from the oven."],
                   ["The food arrived cold after an hour.", "The waiter ignored us all evening.",
                    "Tiny portions and a huge bill.", "The fish tasted stale.",
                    "The tables were sticky and the floor was dirty.", "They got our order wrong twice."]),
    "hotel": (["The room was spotless and quiet.", "The breakfast had plenty of fresh fruit.",
               "Check-in took two minutes and the view was lovely.", "The bed was very comfortable.",
               "The pool was warm and never crowded.", "The staff remembered our names."],
              ["The room smelled of smoke.", "There was no hot water for two days.",
               "The walls are so thin that we could not sleep.", "The front desk lost our booking.",
               "The towels were stained.", "The air conditioning rattled all night."]),
    "blender": (["It crushes ice in seconds.", "Easy to clean and surprisingly quiet.",
                 "My smoothies have never been smoother.", "It feels solid and well made.",
                 "The jug is big enough for the whole family.", "It makes soup straight from cold vegetables."],
                ["The jug cracked the first time I used it.", "It is louder than a lawnmower.",
                 "The motor burned out within a month.", "Chunks of fruit are left every time.",
                 "The lid leaks all over the counter.", "The blades rusted after a few washes."]),
    "film": (["The acting is superb and the story kept me hooked.", "A warm and funny film for the whole family.",
              "The soundtrack is beautiful.", "I would happily watch it again.",
              "Every scene looks like a painting.", "The ending made the whole cinema cheer."],
             ["The plot makes no sense.", "Two hours of my life I will never get back.",
              "The jokes fall flat and the ending is rushed.", "I walked out halfway through.",
              "The actors seem bored in every scene.", "The sound was so muddy I missed half the lines."]),
    "backpack": (["The straps stay comfortable on long hikes.", "It kept my laptop dry in heavy rain.",
                  "Plenty of pockets and sturdy zips.", "Great value for the price.",
                  "It still looks new after a year of daily use.", "The back panel keeps me cool in summer."],
                 ["A zip broke on the first trip.", "The seams started tearing after a month.",
                  "It leaks as soon as it drizzles.", "The straps dig into my shoulders.",
                  "The colour faded within weeks.", "The bottom wore through in a month."]),
    "phone case": (["It survived a fall down the stairs.", "Slim, grippy and it looks great.",
                    "The buttons still click perfectly.", "Wireless charging works through it."],
                   ["It cracked the first time I dropped it.", "The edges peel away from the phone.",
                    "It turned yellow in two weeks.", "The buttons are almost impossible to press."]),
    "coffee shop": (["The flat white is perfect every time.", "Cosy seats and fast wifi.",
                     "The pastries are baked fresh each morning.", "The baristas are always cheerful."],
                    ["The coffee tasted burnt.", "We waited twenty minutes for two drinks.",
                     "The cups were chipped and dirty.", "It is far too noisy to talk."]),
}
OPENERS = {"positive": ["I love it.", "Highly recommended.", "Really happy with this.", ""],
           "negative": ["Very disappointed.", "Avoid this one.", "Not worth the money.", ""]}


def review_example(rng: random.Random) -> tuple[str, str]:
    subject = rng.choice(sorted(REVIEW_SUBJECTS))
    label = rng.choice(["positive", "negative"])
    sentences = REVIEW_SUBJECTS[subject][label == "negative"]
    text = " ".join(s for s in [rng.choice(OPENERS[label]), *rng.sample(sentences, rng.randint(1, 2))] if s)
    return f"{subject.capitalize()} review: {text}", label


GENERATORS = {"math": math_problem, "qa": qa_example, "classification": review_example}

# ---------------------------------------------------------------------------
# The task model's demonstrations (task_models/prewrite/demonstrations.jsonl).
#
# An instruction-following LLM answers a terse instruction in a sentence ("The sentiment of this
# review is positive.") and gives the bare answer only when the instruction asks for it: the gap
# PRewrite's "adding specific requirements" closes. The tiny task model is taught that behaviour
# on fresh training-only examples, in the reward's prompt format, as TRL prompt/completion records
# (the embedded model pre-trains on each as one text). How a rewrite is worded then decides how
# well it scores. No held-out input appears here. The file lives outside data/ so that the
# policy's default pre-training corpus (all of data/) does not take it in as well.
# ---------------------------------------------------------------------------

TASK_MODEL_DIR = OUT_DIR.parent.parent / "task_models" / "prewrite"
DEMOS_PER_TASK = 1200
EXTRA_TERSE = {
    "math": ["Answer the math question.", "Find the result.", "What is the answer?"],
    "qa": ["Answer using the passage.", "Respond to the question.", "What is the answer?"],
    "classification": ["Decide how the customer feels.", "Is this review good or bad?", "Read the review and classify it."],
}
REQUIREMENTS = {
    "math": ["Reply with the final number only.", "Give just the number.", "Output only the numeric answer."],
    "qa": ["Answer with the exact words from the passage only.", "Reply with a short phrase only.",
           "Give only the answer, not a full sentence."],
    "classification": ["Answer with one word: positive or negative.", "Reply only with positive or negative.",
                       "Output the sentiment label only."],
}
GENERIC_REQUIREMENTS = ["Be concise and give only the answer.", "Respond with the answer alone."]
SENTENCE_ANSWERS = {
    "math": "The answer is {answer}.",
    "qa": "According to the passage, the answer is {answer}.",
    "classification": "The sentiment of this review is {answer}.",
}
TASK_PROMPT = "{instruction}\n{input}\nAnswer:"  # the rewrite_task_model reward's default prompt_template


def draw(task: str, rng: random.Random, exclude: set[str]) -> tuple[str, object]:
    """A generated example whose input is not in `exclude`."""
    for _ in range(10_000):
        text, answer = GENERATORS[task](rng)
        if text not in exclude:
            return text, answer
    raise RuntimeError(f"{task}: the vocabularies cannot make enough distinct inputs")


def task_model_demonstrations(rng: random.Random, held_out: set[str]) -> list[dict]:
    demos = []
    for task in INSTRUCTIONS:
        terse = INSTRUCTIONS[task] + EXTRA_TERSE[task]
        for _ in range(DEMOS_PER_TASK):
            text, answer = draw(task, rng, held_out)
            instruction = rng.choice(terse)
            if rng.random() < 0.5:  # half the demonstrations carry a requirement, and are answered bare
                instruction = f"{instruction} {rng.choice(REQUIREMENTS[task] + GENERIC_REQUIREMENTS)}"
            else:
                answer = SENTENCE_ANSWERS[task].format(answer=answer)
            demos.append({"prompt": TASK_PROMPT.format(instruction=instruction, input=text), "completion": f" {answer}"})
    rng.shuffle(demos)
    return demos


# ---------------------------------------------------------------------------
# The rewriter's demonstrations (sft_rewrites.jsonl).
#
# PRewrite starts from an LLM that can already rewrite an instruction. The embedded policy pre-trains
# on these prompt/completion records (a brief supervised fine-tuning) to start from one: a paraphrase
# of the instruction, alone (40%), with one of the requirements the task model knows (30%), or with
# another that it does not (30%). PPO has to find out which rewrites the task model does well with.
# ---------------------------------------------------------------------------

# meta_prompt and prompt_template of conf/task/prewrite.yaml (tests/test_prewrite_task.py checks they agree).
META_PROMPT = (
    "Rewrite the following instruction via rephrasing and/or adding specific requirements. "
    "Add instructions which would be helpful to solve the problem correctly. Output the new instruction only."
)
REWRITER_PROMPT = "{meta_prompt}\n\nInstruction: {instruction}"
REWRITES_PER_INSTRUCTION = 24
PARAPHRASES = {
    "math": ["Read the word problem and work out the answer.", "Work through the arithmetic in the question.",
             "Find the number the question asks for.", "Solve the word problem below.",
             "Compute the answer to this question.", "Figure out the result of the problem."],
    "qa": ["Read the passage and answer the question about it.", "Use the passage to answer the question.",
           "Find the information the question asks for in the passage.", "Answer the question using the text given.",
           "Look in the passage for the answer.", "Respond to the question based on the passage."],
    "classification": ["Read the review and decide whether the writer liked it.", "Judge the sentiment of the review.",
                       "Say how the reviewer feels about the product.", "Decide what the customer thinks of it.",
                       "Classify the customer review by its sentiment.", "Tell whether this review is favourable."],
}
OTHER_REQUIREMENTS = ["Explain your reasoning.", "Show your working.", "Use a complete sentence.",
                      "Think about it carefully.", "Be precise.", "Double-check the answer."]


def rewriter_demonstrations(rng: random.Random) -> list[dict]:
    demos = []
    for task in INSTRUCTIONS:
        for instruction in INSTRUCTIONS[task] + EXTRA_TERSE[task]:
            prompt = REWRITER_PROMPT.format(meta_prompt=META_PROMPT, instruction=instruction)
            for _ in range(REWRITES_PER_INSTRUCTION):
                rewrite, draw_ = rng.choice(PARAPHRASES[task]), rng.random()
                if draw_ >= 0.7:
                    rewrite += " " + rng.choice(REQUIREMENTS[task] + GENERIC_REQUIREMENTS)
                elif draw_ >= 0.4:
                    rewrite += " " + rng.choice(OTHER_REQUIREMENTS)
                demos.append({"prompt": prompt, "completion": rewrite})
    rng.shuffle(demos)
    return demos


def build() -> dict[Path, list[dict]]:
    rng = random.Random(SEED)
    splits: dict[str, list[dict]] = {"train": [], "eval": []}
    seen: set[str] = set()  # every train/eval input once, so held-out examples are new
    for task, instructions in INSTRUCTIONS.items():
        for instruction in instructions:
            for split, count in (("train", TRAIN_PER_INSTRUCTION), ("eval", EVAL_PER_INSTRUCTION)):
                for _ in range(count):
                    text, answer = draw(task, rng, seen)
                    seen.add(text)
                    splits[split].append({"instruction": instruction, "input": text, "output": str(answer), "task": task})
    task_model_demos = task_model_demonstrations(rng, {row["input"] for row in splits["eval"]})
    return {
        OUT_DIR / "train.jsonl": splits["train"],
        OUT_DIR / "eval.jsonl": splits["eval"],
        OUT_DIR / "sft_rewrites.jsonl": rewriter_demonstrations(rng),
        TASK_MODEL_DIR / "demonstrations.jsonl": task_model_demos,
    }


def main() -> None:
    for path, rows in build().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        print(f"wrote {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
