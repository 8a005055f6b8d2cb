-- Survey answers, anonymous by design (docs/surveys.md). Who answered a round and what was
-- answered are kept apart with nothing to join them on:
-- * survey_rounds holds, per survey and round, the set of people who answered, as one sorted
--   JSON array rewritten on each answer: no row per person, so no insertion order, no id and
--   no time.
-- * survey_answers holds the responses: the respondent's team (for results per team) and the
--   answers, under a random key (128 bits); no person, no time. Results are read in key order.
CREATE TABLE survey_rounds (
    survey      TEXT NOT NULL,
    round       TEXT NOT NULL,
    respondents TEXT NOT NULL,
    PRIMARY KEY (survey, round)
);
CREATE TABLE survey_answers (
    survey  TEXT NOT NULL,
    round   TEXT NOT NULL,
    slot    TEXT NOT NULL,
    team    TEXT NOT NULL,
    answers TEXT NOT NULL,
    PRIMARY KEY (survey, round, slot)
);
