#!/usr/bin/env python3
"""Build the project-authored financial and general QA set in data/finqa/, in Alpaca JSONL.

Run from the repository root:

    python data/finqa/build_finqa.py

Financial records are FinQA-style: a short passage of invented company figures as `input`, a question
as `instruction`, and the answer computed from the figures as `output` (a percentage, a dollar amount
or a ratio, rounded as an analyst would write it). Companies, years and figures are drawn with a fixed
seed; held-out records use companies that never appear in training. General records are hand-written
factual questions without an `input`, split by question. `sft_finqa.jsonl` holds SFT demonstrations
(rendered prompts and answers) of other questions about the training companies and of the training
general questions, for the embedded model's supervised phase. Only the standard library
is used; the output is byte-identical on every run.
"""

import json
import random
from pathlib import Path

SEED = 11
OUT_DIR = Path(__file__).resolve().parent
N_TRAIN_PER_COMPANY = 12
N_SFT_PER_COMPANY = 16
N_EVAL_PER_COMPANY = 6

COMPANIES = [
    "Arden Logistics", "Bellmore Foods", "Cobalt Ridge Mining", "Dunmore Textiles", "Eastlake Pharma",
    "Fairhaven Retail", "Granite Peak Software", "Harbor Point Energy", "Ironvale Steel", "Juniper Health",
    "Kestrel Airlines", "Lindell Paper", "Marlow Insurance", "Northgate Telecom", "Oakbrook Homes",
    "Pinecrest Media", "Quarry Lane Cement", "Redfield Motors", "Silverline Bank", "Thornbury Chemicals",
    "Upland Water", "Vantage Robotics", "Westbrook Apparel", "Yarrow Biotech", "Zenith Freight",
    # held-out companies (the last five)
    "Ashcombe Tools", "Brightwater Hotels", "Calder Semiconductors", "Dovecote Farms", "Everly Cosmetics",
]
N_HELDOUT_COMPANIES = 5
# task.prompt_template and task.fallback_template of conf/task/finqa.yaml, for the SFT demonstrations.
PROMPT_TEMPLATE = "{instruction}\n\n{input}"
FALLBACK_TEMPLATE = "{instruction}"
METRICS = ["revenue", "net income", "operating income", "operating expenses", "free cash flow", "capital expenditures"]


def money(millions: float) -> str:
    sign, size = ("-" if millions < 0 else ""), abs(millions)
    return f"{sign}${size:,.1f} million" if size % 1 else f"{sign}${int(size):,} million"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def pct(value: float) -> str:
    return f"{value:.1f}%"


# Question kinds and their shares: a third are look-ups of a figure the passage states (as in TAT-QA and
# the first turns of ConvFinQA), the rest need arithmetic on the passage's figures.
KINDS = {"lookup": 4, "change": 1, "difference": 1, "margin": 1, "liabilities": 1, "total": 1, "ratio": 1, "eps": 1,
         "share": 1}


def financial_record(company: str, rng: random.Random) -> dict:
    kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
    y1 = rng.randint(2014, 2022)
    y2 = y1 + 1
    if kind in ("lookup", "change", "difference", "total"):
        metric = rng.choice(METRICS)
        a = rng.randint(40, 2400)
        b = max(1, round(a * rng.uniform(0.7, 1.4)))
        passage = f"{company} reported {metric} of {money(a)} in {y1} and {money(b)} in {y2}."
        if kind == "lookup":
            year, value = rng.choice([(y1, a), (y2, b)])
            verb = "were" if metric.endswith("s") else "was"  # operating expenses, capital expenditures
            return {"instruction": f"What {verb} the {metric} in {year}?", "input": passage, "output": money(value)}
        if kind == "change":
            return {"instruction": f"What was the percentage change in {metric} from {y1} to {y2}?", "input": passage,
                    "output": pct((b - a) / a * 100)}
        if kind == "difference":
            return {"instruction": f"By how much did {metric} change from {y1} to {y2}?", "input": passage,
                    "output": money(b - a)}
        return {"instruction": f"What was the combined {metric} for {y1} and {y2}?", "input": passage,
                "output": money(a + b)}
    if kind == "margin":
        revenue = rng.randint(200, 5000)
        income = round(revenue * rng.uniform(0.02, 0.25))
        passage = f"In {y2}, {company} had revenue of {money(revenue)} and net income of {money(income)}."
        return {"instruction": f"What was the net profit margin in {y2}?", "input": passage,
                "output": pct(income / revenue * 100)}
    if kind == "liabilities":
        assets = rng.randint(500, 9000)
        liabilities = round(assets * rng.uniform(0.3, 0.9))
        passage = (f"At the end of {y2}, {company} had total assets of {money(assets)} and total liabilities of "
                   f"{money(liabilities)}.")
        return {"instruction": f"What was the shareholders' equity at the end of {y2}?", "input": passage,
                "output": money(assets - liabilities)}
    if kind == "ratio":
        liabilities = rng.randint(100, 1500)
        assets = round(liabilities * rng.uniform(0.8, 2.5))
        passage = (f"{possessive(company)} balance sheet for {y2} shows current assets of {money(assets)} and current "
                   f"liabilities of {money(liabilities)}.")
        return {"instruction": f"What was the current ratio in {y2}?", "input": passage,
                "output": f"{assets / liabilities:.2f}"}
    if kind == "eps":
        income = rng.randint(20, 900)
        shares = rng.randint(50, 600)
        passage = f"{company} earned net income of {money(income)} in {y2} with {shares} million shares outstanding."
        return {"instruction": f"What were the earnings per share in {y2}?", "input": passage,
                "output": f"${income / shares:.2f}"}
    segment = rng.choice(["North America", "Europe", "Asia Pacific", "online sales", "services"])
    total = rng.randint(300, 6000)
    part = round(total * rng.uniform(0.1, 0.7))
    passage = f"Of {possessive(company)} {money(total)} of revenue in {y2}, {money(part)} came from {segment}."
    return {"instruction": f"What share of revenue came from {segment} in {y2}?", "input": passage,
            "output": pct(part / total * 100)}


# Hand-written general questions and their short answers.
GENERAL = [
    ("What is the capital of Canada?", "Ottawa"), ("What is the capital of Australia?", "Canberra"),
    ("What is the capital of Japan?", "Tokyo"), ("What is the capital of Kenya?", "Nairobi"),
    ("What is the capital of Brazil?", "Brasilia"), ("What is the capital of Egypt?", "Cairo"),
    ("What is the capital of Norway?", "Oslo"), ("What is the capital of Argentina?", "Buenos Aires"),
    ("What is the capital of India?", "New Delhi"), ("What is the capital of Spain?", "Madrid"),
    ("What is the capital of Portugal?", "Lisbon"), ("What is the capital of Turkey?", "Ankara"),
    ("Where was Albert Einstein born?", "Ulm, Germany"), ("Where was Marie Curie born?", "Warsaw, Poland"),
    ("Who wrote Pride and Prejudice?", "Jane Austen"), ("Who wrote Hamlet?", "William Shakespeare"),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci"), ("Who developed the theory of evolution by natural selection?", "Charles Darwin"),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong"), ("Who invented the telephone?", "Alexander Graham Bell"),
    ("How many moons does Mars have?", "2"), ("How many planets are in the Solar System?", "8"),
    ("How many continents are there?", "7"), ("How many sides does a hexagon have?", "6"),
    ("How many days are in a leap year?", "366"), ("How many minutes are in an hour?", "60"),
    ("How many bones are in the adult human body?", "206"), ("How many players are on a football team on the pitch?", "11"),
    ("What is the largest planet in the Solar System?", "Jupiter"), ("What is the closest star to Earth?", "The Sun"),
    ("What is the chemical symbol for gold?", "Au"), ("What is the chemical symbol for sodium?", "Na"),
    ("What gas do plants absorb from the air?", "Carbon dioxide"), ("What is the boiling point of water at sea level in Celsius?", "100 degrees"),
    ("What is the freezing point of water in Fahrenheit?", "32 degrees"), ("What is the largest ocean on Earth?", "The Pacific Ocean"),
    ("What is the longest river in Africa?", "The Nile"), ("What is the tallest mountain in the world?", "Mount Everest"),
    ("What is the largest desert in the world?", "The Sahara"), ("Which planet is known as the Red Planet?", "Mars"),
    ("What is the currency of Japan?", "The yen"), ("What is the currency of the United Kingdom?", "The pound sterling"),
    ("What is the currency of Switzerland?", "The Swiss franc"), ("What does GDP stand for?", "Gross domestic product"),
    ("What does IPO stand for?", "Initial public offering"), ("What does ROI stand for?", "Return on investment"),
    ("What does CPI measure?", "Consumer price inflation"), ("What is a bear market?", "A market in which prices fall for a long period"),
    ("What is a bull market?", "A market in which prices rise for a long period"), ("What is a dividend?", "A share of profits paid to shareholders"),
    ("What is inflation?", "A general rise in prices over time"), ("What is a bond?", "A loan to a company or government that pays interest"),
    ("Which central bank sets interest rates in the United States?", "The Federal Reserve"), ("Which central bank sets interest rates for the euro?", "The European Central Bank"),
    ("In which year did the Berlin Wall fall?", "1989"), ("In which year did the Second World War end?", "1945"),
    ("In which year did humans first land on the Moon?", "1969"), ("In which city is the Eiffel Tower?", "Paris"),
    ("In which country are the pyramids of Giza?", "Egypt"), ("In which city is the Colosseum?", "Rome"),
    ("What language is spoken in Brazil?", "Portuguese"), ("What language is spoken in Mexico?", "Spanish"),
    ("What is the square root of 81?", "9"), ("What is 12 multiplied by 12?", "144"),
    ("What is 15% of 200?", "30"), ("What is half of 250?", "125"),
    ("What is the smallest prime number?", "2"), ("What is the hardest natural substance?", "Diamond"),
    ("What organ pumps blood through the body?", "The heart"), ("What is the largest mammal?", "The blue whale"),
    ("How many hours are in a day?", "24"), ("How many weeks are in a year?", "52"),
    ("What is the main ingredient of guacamole?", "Avocado"), ("Which metal is liquid at room temperature?", "Mercury"),
    ("What is the fastest land animal?", "The cheetah"), ("Which instrument has 88 keys?", "The piano"),
    ("Who composed the Four Seasons?", "Antonio Vivaldi"), ("Who discovered penicillin?", "Alexander Fleming"),
    ("What is the capital of Italy?", "Rome"), ("What is the capital of Germany?", "Berlin"),
]
N_GENERAL_EVAL = 16


# How the SFT demonstrations phrase an answer, with their shares: bare, as the gold `output` is written,
# or in a sentence, as annotators also write (F1 against the bare gold scores the sentence lower).
ANSWER_STYLES = {"{}": 2, "The answer is {}.": 1, "It was {}.": 1}


def demonstration(record: dict, rng: random.Random) -> dict:
    template = PROMPT_TEMPLATE if record["input"] else FALLBACK_TEMPLATE
    style = rng.choices(list(ANSWER_STYLES), list(ANSWER_STYLES.values()))[0]
    return {"prompt": template.format(**record), "completion": style.format(record["output"])}


def main() -> None:
    rng = random.Random(SEED)
    train, heldout, sft = [], [], []
    for i, company in enumerate(COMPANIES):
        if i >= len(COMPANIES) - N_HELDOUT_COMPANIES:
            heldout.extend(financial_record(company, rng) for _ in range(N_EVAL_PER_COMPANY * 4))
        else:
            train.extend(financial_record(company, rng) for _ in range(N_TRAIN_PER_COMPANY))
            # The SFT demonstrations are other questions about the same companies, not the PPO prompts,
            # so those are as new to the supervised model as the held-out ones.
            sft.extend(financial_record(company, rng) for _ in range(N_SFT_PER_COMPANY))
    general = [{"instruction": q, "input": "", "output": a} for q, a in GENERAL]
    rng.shuffle(general)
    heldout += general[:N_GENERAL_EVAL]
    train += general[N_GENERAL_EVAL:]
    sft += general[N_GENERAL_EVAL:]  # facts the model can only answer if it has seen them
    rng.shuffle(train)
    rng.shuffle(heldout)
    sft = [demonstration(record, rng) for record in sft]
    for name, records in (("train.jsonl", train), ("eval.jsonl", heldout), ("sft_finqa.jsonl", sft)):
        with open(OUT_DIR / name, "w") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
    print(f"{len(train)} training, {len(heldout)} held-out and {len(sft)} SFT records")


if __name__ == "__main__":
    main()
