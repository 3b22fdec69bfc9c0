"""What callers ask the demo business (agent_service/knowledge/demo.yaml), the way they say it on the phone,
each with the fact a right answer must state, or DEFER where the knowledge has no answer.

Written before the matcher was tuned. QUESTIONS is the development set (the matcher was tuned on it);
HELD_OUT was written at the same time and only ever measured, never tuned on. An answer is right when it
contains any of the expected facts (case and spacing ignored). `bench/understanding.py` speaks them over a
telephone line; `tests/eval/test_understanding.py` runs them as text, together with SLIPS.
"""

from __future__ import annotations

DEFER = ()  # no fact: the only right answer is a deferral (a message, a transfer, "I don't know")

Question = tuple[str, tuple[str, ...]]

QUESTIONS: tuple[Question, ...] = (
    # opening hours and closed days
    ("you open weekends?", ("Saturday from 9",)),
    ("what time d'you shut tonight?", ("6 pm",)),
    ("um, when are you guys open?", ("Monday to Friday",)),
    ("are you open on a Saturday at all?", ("Saturday from 9",)),
    ("how early can I come in on a weekday?", ("8:30 am to 6 pm",)),
    ("what are your hours like?", ("Monday to Friday",)),
    ("are you still open at half five on a Friday?", ("6 pm",)),
    ("what time do you open in the morning?", ("8:30 am to 6 pm",)),
    ("can I pop in on Saturday afternoon?", ("9 am to 1 pm",)),
    ("are you lot open Sundays?", ("closed on Sunday",)),
    ("d'you open on a Sunday?", ("closed on Sunday",)),
    ("you open on bank holidays?", ("closed on bank holidays", "and bank holidays")),
    ("what about bank holiday Mondays, are you open then?", ("closed on bank holidays", "and bank holidays")),
    # where
    ("where are you exactly?", ("42 Harbour Street",)),
    ("what's the address?", ("42 Harbour Street",)),
    ("whereabouts in Brighton are you?", ("42 Harbour Street",)),
    ("what's your postcode for the sat nav?", ("BN1 2AB",)),
    ("how do I get to you?", ("42 Harbour Street",)),
    ("which floor are you on?", ("first floor",)),
    ("are you the place above the pharmacy?", ("above the pharmacy",)),
    # parking
    ("can I leave the car somewhere?", ("free parking",)),
    ("is there anywhere to park?", ("free parking",)),
    ("do I have to pay for parking?", ("free parking",)),
    ("where do I put my car when I come in?", ("free parking",)),
    # prices
    ("what's the damage for a clean?", ("60 pounds",)),
    ("how much for a check-up?", ("45 pounds",)),
    ("roughly how much d'you charge for a checkup?", ("45 pounds",)),
    ("what's a scale and polish gonna cost me?", ("60 pounds",)),
    ("how much is teeth whitening?", ("350 pounds",)),
    ("what do you charge for whitening?", ("350 pounds",)),
    ("how much to get my teeth whiter?", ("350 pounds",)),
    ("what's the price of a filling?", ("120 pounds",)),
    ("how much is a white filling these days?", ("120 pounds",)),
    ("how much is it for a check-up and a clean together?", ("95 pounds",)),
    ("can you tell me your prices?", ("check-up, 45 pounds",)),
    ("how much does it cost to see the hygienist?", ("60 pounds",)),
    ("are check-ups free for kids?", ("free for under-16s",)),
    ("is it expensive to whiten your teeth?", ("350 pounds",)),
    # what is not offered
    ("d'you do implants?", ("don't offer dental implants",)),
    ("can I get an implant done there?", ("don't offer dental implants",)),
    ("my mum can't get out, can a dentist come to the house?", ("don't offer home visits",)),
    ("do you do home visits?", ("don't offer home visits",)),
    ("can I spread the cost, like monthly payments?", ("don't offer payment plans",)),
    ("is there a finance option?", ("don't offer payment plans",)),
    # the FAQs
    ("d'you do kids' check-ups?", ("children of all ages",)),
    ("do you treat children?", ("children of all ages",)),
    ("can I bring my little boy in?", ("children of all ages",)),
    ("my daughter's six, can you see her?", ("children of all ages",)),
    ("are you taking on new patients at the moment?", ("new NHS and private patients",)),
    ("I've just moved here, can I sign up with you?", ("new NHS and private patients",)),
    ("do you do NHS?", ("new NHS and private patients",)),
    ("I've got really bad toothache, can you squeeze me in today?", ("same-day emergency slots",)),
    ("I chipped my tooth this morning, can someone see me today?", ("same-day emergency slots",)),
    ("my tooth is killing me, it's an emergency", ("same-day emergency slots",)),
    ("I need to cancel tomorrow's appointment", ("24 hours' notice",)),
    ("is there a charge if I cancel last minute?", ("20 pound fee",)),
    ("can I move my appointment to next week?", ("24 hours' notice",)),
    ("can I pay by card?", ("card or cash",)),
    ("do you take cash?", ("card or cash",)),
    ("d'you take contactless?", ("card or cash",)),
    ("who's the dentist there?", ("Dr. Sarah Patel",)),
    ("is Doctor Patel still working there?", ("Dr. Sarah Patel",)),
    ("what's the hygienist's name?", ("hygienist is Anna",)),
    ("can I see Tom Evans?", ("Dr. Tom Evans",)),
    ("can I book online?", ("brightsmile.example/book",)),
    ("is there a website I can book on?", ("brightsmile.example/book",)),
    ("I would like to book a cleaning for next Tuesday afternoon", ("brightsmile.example/book",)),
    ("can I make an appointment?", ("brightsmile.example/book",)),
    # not in the knowledge: a deferral, never a guess
    ("do you do braces for grown-ups?", DEFER),
    ("how much is a root canal?", DEFER),
    ("is there wheelchair access?", DEFER),
    ("what's the weather doing down there?", DEFER),
    ("d'you sell electric toothbrushes?", DEFER),
    ("is Doctor Jones in today?", DEFER),
    ("how much for a crown?", DEFER),
    ("do you do Botox?", DEFER),
    ("do you do Invisalign?", DEFER),
    ("can I get my wisdom tooth out with you?", DEFER),
    ("have you got a lift?", DEFER),
    ("is there a bus that stops nearby?", DEFER),
    ("what's the nearest train station?", DEFER),
    ("I'm a nervous patient, do you do sedation?", DEFER),
    ("how much is a tooth extraction?", DEFER),
    ("do you take Denplan?", DEFER),
    ("can I bring my dog?", DEFER),
    ("how long is the wait for an NHS appointment?", DEFER),
    ("do you do veneers?", DEFER),
    ("what's your email address?", DEFER),
    ("do you treat gum disease?", DEFER),
    ("how much are dentures?", DEFER),
)

# Written with QUESTIONS, before any tuning, and never tuned on: the honest figure for new wording.
HELD_OUT: tuple[Question, ...] = (
    ("hiya, what are your opening times on a Saturday?", ("Saturday from 9",)),
    ("are you open late any night?", ("6 pm",)),
    ("can I come in on Sunday morning?", ("closed on Sunday",)),
    ("what road are you on?", ("42 Harbour Street",)),
    ("is there a car park?", ("free parking",)),
    ("what's the cost of a scale and polish?", ("60 pounds",)),
    ("how much would it be to get my teeth bleached?", ("350 pounds",)),
    ("price of a check up please", ("45 pounds",)),
    ("what do fillings cost with you?", ("120 pounds",)),
    ("d'you do dental implants at all?", ("don't offer dental implants",)),
    ("can you see my son, he's nine?", ("children of all ages",)),
    ("are kids' check-ups free?", ("free for under-16s",)),
    ("I've got an abscess and my face is swollen, can I come in today?", ("same-day emergency slots",)),
    ("I need to rearrange my appointment", ("24 hours' notice",)),
    ("do you take debit cards?", ("card or cash",)),
    ("who are the dentists at the practice?", ("Dr. Sarah Patel",)),
    ("can I register with you?", ("new NHS and private patients",)),
    ("can I book through your website?", ("brightsmile.example/book",)),
    ("do you offer home visits for the elderly?", ("don't offer home visits",)),
    ("can I pay in instalments?", ("don't offer payment plans",)),
    ("where exactly is the clinic, is it above a shop?", ("above the pharmacy",)),
    ("do you do teeth straightening?", DEFER),
    ("how much is a bridge?", DEFER),
    ("do you have a children's play area?", DEFER),
    ("can I get a mouthguard made for rugby?", DEFER),
    ("do you do cosmetic bonding?", DEFER),
    ("how much is an x-ray?", DEFER),
    ("what's the phone number of the pharmacy downstairs?", DEFER),
)

# What speech recognition made of real questions on the telephone path (the two, then Whisper
# tiny.en's in bench/understanding.py runs): the matcher must still find the answer.
SLIPS: tuple[Question, ...] = (
    ("Ooh, you treat children.", ("children of all ages",)),
    ("How much is deep wide turning?", ("350 pounds",)),
    ("What do you charge for widening?", ("350 pounds",)),
    ("How much per check-up?", ("45 pounds",)),
    ("What's the cost of a scale in polish?", ("60 pounds",)),
    ("Our check-up's free for kids.", ("free for under-16s",)),
    ("Are you a lot open Sundays?", ("closed on Sunday",)),
    ("What about bank holiday Mondays, for you open them?", ("closed on bank holidays", "and bank holidays")),
    ("I chip my tooth this morning. Can someone see me today?", ("same-day emergency slots",)),
)

# Slips too far from what was said to recover: a deferral is fine, a wrong answer is not.
MISHEARD: tuple[Question, ...] = (
    ("Can I pay by car?", ("card or cash",)),
    ("Do you do an HS?", ("new NHS and private patients",)),
    ("floor, the dentist at the practice.", ("Dr. Sarah Patel",)),  # hotwords put "floor" there
    ("What's your postcode for the satin app?", ("BN1 2AB",)),
    ("It's Dr. Jones and today.", DEFER),
    ("Do you take dent one?", DEFER),
    ("Do you do vinears?", DEFER),
)
