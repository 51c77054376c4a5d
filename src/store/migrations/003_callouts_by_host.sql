-- Schema version 3: queued callouts indexed by destination, then age. A claim finds the
-- destinations with queued callouts by seeking from one to the next, and reads the
-- oldest few of each that has room; it no longer walks past the queue of a destination
-- that is full (with thousands queued for one busy host, every claim used to).
DROP INDEX callouts_queued;
CREATE INDEX callouts_queued ON callouts (host, created_ms) WHERE state = 0;
