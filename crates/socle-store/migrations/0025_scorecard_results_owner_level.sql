-- A team's results read by owner (its page) and a campaign's entities still failing read per
-- owner (rank 0, by entity ref): one index serves both as a range, where the former index on
-- (owner, scorecard) left the failing ones to be found among every result of the scorecard.
DROP INDEX scorecard_results_owner;
CREATE INDEX scorecard_results_owner_level ON scorecard_results (owner, scorecard, level_rank, entity);
