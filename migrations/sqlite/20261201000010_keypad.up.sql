-- A channel's recent keypad actions (the channel page) read the newest dtmf
-- events of one channel: a partial index keeps them one index walk away.
CREATE INDEX events_channel_dtmf ON events (channel_id, id) WHERE event_type = 'dtmf';
