#!/usr/bin/env python3
"""Build the project-authored RLHF prompt set in data/rlhf/.

Run from the repository root:

    python data/rlhf/build_rlhf.py

Every text is written here: 40 everyday topics, each with a definition, three tips, an upside and a
downside, all hand-written for this project. Six question patterns per topic give 240 prompts. The
topics are split, with a fixed seed, into 32 training topics and 8 held-out topics, so held-out prompts
ask about subjects the training prompts never mention. Training prompts also get a demonstration: a
response assembled from the topic's sentences, which the embedded policy model is pre-trained on and
the embedded reward model learns from.
Only the standard library is used; the output is byte-identical on every run.
"""

import json
import random
from pathlib import Path

SEED = 7
OUT_DIR = Path(__file__).resolve().parent
N_HELDOUT_TOPICS = 8
PROMPT_TEMPLATE = "{text}\n"  # task.prompt_template of conf/task/rlhf_prompts.yaml

# name: (definition, [tip, tip, tip], upside, downside)
TOPICS = {
    "meditation": (
        "Meditation is the practice of resting your attention on one thing, such as your breath, and gently returning to it when the mind wanders.",
        ["Begin with five minutes a day at the same time.", "Sit comfortably and count ten slow breaths, then start again.", "Use a timer so you are not checking the clock."],
        "Regular practice can lower stress and make it easier to notice your thoughts before you react to them.",
        "The benefits build slowly, and the first weeks can feel restless or boring.",
    ),
    "learning Python": (
        "Python is a programming language known for its readable syntax, used for scripting, data analysis, web services and teaching.",
        ["Install Python and write a small script that solves a real problem you have.", "Work through the official tutorial one chapter at a time.", "Read other people's code and rewrite a short program in your own words."],
        "Python has a gentle learning curve and a huge library for almost any task.",
        "It is slower than compiled languages for heavy number crunching unless you lean on libraries.",
    ),
    "budgeting": (
        "Budgeting means deciding in advance how each month's income will be spent, saved or used to pay down debt.",
        ["List your fixed costs first, such as rent, insurance and loan payments.", "Track every purchase for one month to see where the money really goes.", "Give each spare dollar a job, even if that job is savings."],
        "A budget shows where money leaks away and makes big goals feel reachable.",
        "It takes a few months of adjustment before the numbers match real life.",
    ),
    "gardening": (
        "Gardening is growing plants, from herbs on a windowsill to vegetables in raised beds, for food or for pleasure.",
        ["Start with easy crops such as lettuce, radishes or basil.", "Check how many hours of sun the spot gets before you plant.", "Water deeply but less often so the roots grow down."],
        "It gets you outside, gives you fresh food and is a calm way to end the day.",
        "Pests, weather and weeds can undo weeks of work.",
    ),
    "running": (
        "Running is one of the simplest forms of exercise: all it needs is a pair of shoes and a safe route.",
        ["Alternate one minute of running with two minutes of walking at first.", "Increase your weekly distance by no more than ten percent.", "Buy shoes that fit well rather than the most expensive pair."],
        "It improves heart health and endurance and fits into a short lunch break.",
        "The repeated impact can strain knees and shins if you build up too quickly.",
    ),
    "journaling": (
        "Journaling is writing down your thoughts, plans or experiences regularly, in a notebook or an app.",
        ["Write three sentences every evening instead of aiming for pages.", "Keep the notebook next to your bed so it is easy to start.", "Reread old entries once a month to spot patterns."],
        "It helps you untangle worries and remember what you have learned.",
        "It can become a chore if you treat it as homework.",
    ),
    "cooking at home": (
        "Cooking at home means preparing most of your meals yourself instead of eating out or ordering in.",
        ["Plan four dinners for the week and shop from one list.", "Learn three reliable recipes before trying new ones.", "Cook a double batch and freeze half for busy nights."],
        "It saves money and lets you control salt, sugar and portion sizes.",
        "It takes time for shopping, cooking and washing up.",
    ),
    "learning a new language": (
        "Learning a language means building vocabulary, grammar and listening skills until you can hold a real conversation.",
        ["Practise for fifteen minutes every day rather than two hours once a week.", "Learn the most common five hundred words first.", "Speak with a partner early, even if you make mistakes."],
        "It opens up travel, friendships and books you could not read before.",
        "Progress feels slow after the first few months, and it is easy to give up.",
    ),
    "saving for retirement": (
        "Saving for retirement means putting part of your income into long-term accounts that grow until you stop working.",
        ["Start early, because compound growth rewards time more than amount.", "Take any employer match, since it is free money.", "Raise your contribution by one percent each time you get a raise."],
        "Small amounts saved in your twenties can grow into a large sum by retirement.",
        "Money in retirement accounts is hard to reach early without penalties.",
    ),
    "remote work": (
        "Remote work means doing your job from home or another place outside the office, using online tools to stay in touch.",
        ["Keep a fixed start and end time for the working day.", "Set up a separate desk so work does not spread through the house.", "Schedule short video calls to replace hallway conversations."],
        "It removes the commute and gives you more control over your day.",
        "It can feel isolating, and the line between work and home blurs.",
    ),
    "public speaking": (
        "Public speaking is presenting ideas to a group, from a team meeting to a conference stage.",
        ["Rehearse out loud at least three times before the talk.", "Open with a story or a question instead of your agenda.", "Pause instead of filling silence with filler words."],
        "Clear speakers are noticed and trusted, which helps careers.",
        "Nerves can be intense at first, and preparation takes real time.",
    ),
    "photography": (
        "Photography is the craft of capturing light to tell a story, whether with a phone or a dedicated camera.",
        ["Learn the rule of thirds and then learn when to break it.", "Shoot in the soft light of early morning or late afternoon.", "Take fewer photos and think about each frame."],
        "It teaches you to notice light, colour and small moments.",
        "Gear can become an expensive distraction from actually taking pictures.",
    ),
    "cycling to work": (
        "Cycling to work means using a bicycle for your daily commute instead of a car or public transport.",
        ["Ride the route on a weekend first to find quiet streets.", "Use lights front and back, even in daylight.", "Keep a change of clothes at work."],
        "It builds fitness into your day and costs almost nothing to run.",
        "Bad weather and heavy traffic can make some days unpleasant.",
    ),
    "reading more books": (
        "Reading more books usually means making small, regular time for reading rather than waiting for free weekends.",
        ["Carry a book or an e-reader everywhere.", "Read twenty pages before bed instead of scrolling.", "Give yourself permission to drop a book you do not enjoy."],
        "Reading builds vocabulary, focus and empathy.",
        "It competes with screens and can slip away during busy weeks.",
    ),
    "better sleep": (
        "Better sleep comes from regular habits that help the body wind down at the same time each night.",
        ["Go to bed and get up at the same time every day.", "Keep the bedroom cool, dark and quiet.", "Stop caffeine after lunch."],
        "Good sleep improves mood, memory and concentration.",
        "Habits take a couple of weeks to make a noticeable difference.",
    ),
    "composting": (
        "Composting turns kitchen scraps and garden waste into rich soil through natural decomposition.",
        ["Balance green waste such as peelings with brown waste such as dry leaves.", "Turn the pile every week or two to let air in.", "Keep it as damp as a wrung-out sponge."],
        "It cuts household waste and feeds your garden for free.",
        "A badly balanced pile can smell and attract pests.",
    ),
    "index fund investing": (
        "An index fund is a fund that holds every company in a market index, so its return follows the whole market.",
        ["Compare expense ratios, because low fees compound too.", "Invest a fixed amount every month regardless of the news.", "Leave the money alone for at least five years."],
        "It offers broad diversification at very low cost.",
        "You will never beat the market, and you still feel every crash.",
    ),
    "yoga": (
        "Yoga combines stretching, strength and breathing in a sequence of poses.",
        ["Start with a beginner class so a teacher can check your form.", "Move slowly and never force a stretch.", "Practise for twenty minutes three times a week."],
        "It improves flexibility and balance and can calm a busy mind.",
        "Some poses can strain the back or wrists when done without guidance.",
    ),
    "time management": (
        "Time management is choosing what to work on and when, so the important tasks get done before the urgent ones crowd them out.",
        ["Write down the three most important tasks for tomorrow each evening.", "Block time in your calendar for focused work.", "Group small tasks such as email into one session."],
        "You finish more of what matters and feel less rushed.",
        "Over-planning can become a way to avoid doing the work.",
    ),
    "hiking": (
        "Hiking is walking on trails through hills, forests or mountains, from a short loop to a full day out.",
        ["Choose a trail shorter than you think you can manage.", "Check the weather and tell someone your route.", "Carry water, a snack and a warm layer even in summer."],
        "It combines exercise with fresh air and beautiful views.",
        "Weather can change quickly, and trails can be far from help.",
    ),
    "learning the guitar": (
        "Learning the guitar means training your hands to form chords and your ear to keep time.",
        ["Learn four common chords and the songs that use them.", "Practise changing between two chords for five minutes a day.", "Play along with recordings to build rhythm."],
        "You can play hundreds of songs with only a handful of chords.",
        "Sore fingertips and slow progress discourage many beginners.",
    ),
    "baking bread": (
        "Baking bread turns flour, water, salt and yeast into a loaf through kneading, rising and baking.",
        ["Weigh your ingredients instead of using cups.", "Let the dough rise until it has doubled, not by the clock.", "Bake until the loaf sounds hollow when tapped."],
        "Homemade bread tastes better than most shop loaves and costs little.",
        "It takes hours from start to finish, even if most of that is waiting.",
    ),
    "volunteering": (
        "Volunteering is giving your time for free to a cause or organisation you care about.",
        ["Pick a cause that matches a skill you already have.", "Start with a single event before committing to a weekly shift.", "Ask the organisers what they actually need."],
        "It builds community, skills and a sense of purpose.",
        "It takes time that can be hard to find in a busy week.",
    ),
    "growing houseplants": (
        "Houseplants are plants grown indoors in pots, chosen to suit the light and humidity of a room.",
        ["Match each plant to the light of the window it will sit in.", "Water when the top of the soil is dry, not on a fixed schedule.", "Use pots with drainage holes."],
        "Plants make a room feel calmer and more alive, and some are almost impossible to kill.",
        "Overwatering kills more houseplants than neglect does.",
    ),
    "an electric car": (
        "An electric car runs on a battery and an electric motor instead of a petrol or diesel engine.",
        ["Work out how far you drive on a typical day before choosing a battery size.", "Check whether you can charge at home or at work.", "Compare the total cost over five years, not just the price."],
        "It is cheap to run, quiet and produces no exhaust fumes.",
        "It costs more up front, and long trips need charging stops.",
    ),
    "solar power": (
        "Solar power is electricity made from sunlight by panels on a roof or in a field, used at home or fed into the grid.",
        ["Check that your roof faces the sun and is not heavily shaded.", "Get at least three quotes from installers.", "Ask how long the panels and the inverter are guaranteed."],
        "It lowers electricity bills for decades after the initial cost.",
        "The installation is expensive and the payback can take many years.",
    ),
    "a credit card": (
        "A credit card lets you borrow money for purchases and pay it back later, with interest on any balance you carry.",
        ["Pay the full balance every month to avoid interest.", "Set up an automatic payment so you never miss a due date.", "Keep your spending well below the limit."],
        "Used carefully, it builds a credit history and offers purchase protection.",
        "Interest on an unpaid balance grows quickly and can become a debt trap.",
    ),
    "strength training": (
        "Strength training means working your muscles against resistance, with weights, machines or your own body.",
        ["Learn the basic movements such as squats, push-ups and rows.", "Add weight or repetitions slowly, week by week.", "Rest at least one day between sessions for the same muscles."],
        "It builds muscle and bone density and makes everyday tasks easier.",
        "Poor technique can cause injuries, especially with heavy weights.",
    ),
    "swimming": (
        "Swimming is moving through water using your arms and legs, for exercise, safety or fun.",
        ["Take a few lessons to learn breathing technique.", "Swim short lengths with rests rather than long tiring ones.", "Use a kickboard to work on your legs."],
        "It exercises the whole body with very little strain on the joints.",
        "You need access to a pool or safe open water.",
    ),
    "starting a podcast": (
        "A podcast is a series of audio episodes that listeners can download or stream.",
        ["Pick a narrow topic you could talk about for fifty episodes.", "Buy a decent microphone before any other gear.", "Publish on a regular schedule so listeners know when to expect you."],
        "It is a low-cost way to share ideas and meet interesting guests.",
        "Growing an audience takes a long time and steady work.",
    ),
    "playing chess": (
        "Chess is a two-player strategy game in which each side tries to trap the other's king.",
        ["Learn the basic opening principles instead of memorising lines.", "Review your lost games to find the move where things went wrong.", "Solve a few tactics puzzles every day."],
        "It trains concentration, planning and patience.",
        "Improvement can stall for long stretches, which is frustrating.",
    ),
    "birdwatching": (
        "Birdwatching is observing and identifying wild birds, at home, in parks or on trips.",
        ["Start by learning the ten most common birds near your home.", "Buy a modest pair of binoculars.", "Keep a list of the species you have seen."],
        "It slows you down and makes every walk more interesting.",
        "Many birds are shy, and good sightings need patience.",
    ),
    "knitting": (
        "Knitting is making fabric by looping yarn with two needles, stitch by stitch.",
        ["Start with a scarf in a thick, light-coloured yarn.", "Learn the knit stitch well before the purl stitch.", "Count your stitches at the end of each row."],
        "It is relaxing, portable and produces something useful.",
        "Early projects can take weeks and show every mistake.",
    ),
    "camping": (
        "Camping is spending nights outdoors in a tent or shelter, from a campsite with showers to a remote spot.",
        ["Practise setting up your tent at home first.", "Bring a warmer sleeping bag than you think you need.", "Plan simple meals that need one pot."],
        "It gives you time in nature and a break from screens.",
        "Rain, cold and insects can make a trip miserable.",
    ),
    "brewing coffee at home": (
        "Brewing coffee at home means making your own coffee with a method such as a pour-over, a French press or an espresso machine.",
        ["Buy whole beans and grind them just before brewing.", "Use about one gram of coffee for every sixteen grams of water.", "Clean your equipment regularly to avoid bitter flavours."],
        "It is cheaper than a café and you can tune the taste exactly.",
        "Good grinders and machines are expensive.",
    ),
    "an emergency fund": (
        "An emergency fund is money set aside for unexpected costs such as a car repair or a lost job.",
        ["Aim first for one month of essential expenses.", "Keep it in a separate savings account so it is not spent by accident.", "Refill it as soon as you use it."],
        "It turns a crisis into an inconvenience and keeps you out of debt.",
        "Cash in savings grows slowly compared with investments.",
    ),
    "version control with git": (
        "Git is a version control system that records every change to a set of files, so you can review history and undo mistakes.",
        ["Commit small, related changes with clear messages.", "Create a branch for each new feature.", "Pull the latest changes before you start work."],
        "It makes collaboration safe and lets you recover from almost any mistake.",
        "The commands and concepts can be confusing at first.",
    ),
    "drinking more water": (
        "Drinking enough water keeps the body hydrated, which supports energy, digestion and concentration.",
        ["Keep a refillable bottle on your desk.", "Drink a glass of water with every meal.", "Add a slice of lemon if plain water bores you."],
        "Good hydration can reduce headaches and tiredness.",
        "Drinking far more than you need brings no extra benefit.",
    ),
    "learning to draw": (
        "Learning to draw is training your eye to see shapes, proportions and light, and your hand to record them.",
        ["Draw simple objects from life for ten minutes a day.", "Use light lines first and darken them once the shape is right.", "Keep your old sketches to see your progress."],
        "It improves observation and is a relaxing creative outlet.",
        "Early drawings rarely match what you imagine, which can be discouraging.",
    ),
    "walking every day": (
        "Walking every day is the easiest habit for staying active, needing no equipment and no gym.",
        ["Take a ten-minute walk after each meal.", "Use the stairs instead of the lift.", "Walk with a friend to make it a routine."],
        "It improves heart health, mood and sleep.",
        "On its own it builds little strength or speed.",
    ),
}

# (question pattern, how the demonstration is assembled from the topic's sentences)
PATTERNS = [
    ("What is {name}?", lambda d, tips, up, down: d),
    ("Explain {name} in simple terms.", lambda d, tips, up, down: f"{d} {up}"),
    ("How do I get started with {name}?", lambda d, tips, up, down: f"Start small. {tips[0]} {tips[1]}"),
    ("Give me a few tips for {name}.", lambda d, tips, up, down: "Here are a few tips. " + " ".join(tips)),
    ("What are the pros and cons of {name}?", lambda d, tips, up, down: f"On the plus side, {_lower(up)} On the downside, {_lower(down)}"),
    ("Is {name} worth it?", lambda d, tips, up, down: f"For most people, yes. {up} Keep in mind that {_lower(down)}"),
]


def _lower(sentence: str) -> str:
    return sentence[0].lower() + sentence[1:]


def main() -> None:
    rng = random.Random(SEED)
    names = sorted(TOPICS)
    rng.shuffle(names)
    heldout, train = sorted(names[:N_HELDOUT_TOPICS]), sorted(names[N_HELDOUT_TOPICS:])

    def prompts(topics):
        return [pattern.format(name=name) for name in topics for pattern, _ in PATTERNS]

    # TRL's prompt-completion format, the prompt rendered as conf/task/rlhf_prompts.yaml renders it: the
    # embedded policy model pre-trains on prompt + completion as one text, a brief supervised fine-tuning.
    demonstrations = [
        {"prompt": PROMPT_TEMPLATE.format(text=pattern.format(name=name)), "completion": respond(*TOPICS[name])}
        for name in train
        for pattern, respond in PATTERNS
    ]
    (OUT_DIR / "prompts.txt").write_text("\n".join(prompts(train)) + "\n")
    (OUT_DIR / "prompts_eval.txt").write_text("\n".join(prompts(heldout)) + "\n")
    with open(OUT_DIR / "demonstrations.jsonl", "w") as f:
        for record in demonstrations:
            f.write(json.dumps(record) + "\n")
    print(f"{len(train)} training topics, {len(heldout)} held-out: {heldout}")


if __name__ == "__main__":
    main()
