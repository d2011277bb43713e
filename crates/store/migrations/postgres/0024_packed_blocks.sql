-- Usage event blocks compressed by the node that writes them (ADR 0005, "Later: blocks
-- packed by the writer").
--
-- Every node's tail reads every block, and PostgreSQL decompressed each one and sent its
-- records whole (about 420 bytes an event to each node). A block the writer packed
-- (`packed`: its records are lz4's block format, the uncompressed size first as 4 bytes
-- little-endian) is stored and sent as it is: PostgreSQL neither compresses nor
-- decompresses it, and a tail receives about a seventh of the bytes. Blocks written
-- before keep `packed` false and are read as they were.
ALTER TABLE usage_event_blocks ADD COLUMN packed BOOLEAN NOT NULL DEFAULT false;
-- Stored as given, out of line when large: compressing again gains nothing.
ALTER TABLE usage_event_blocks ALTER COLUMN records SET STORAGE EXTERNAL;
