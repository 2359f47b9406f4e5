-- +goose Up
-- What a token may do: admin (everything), operator (start, cancel, read),
-- reader (read), upstream (post change events only). Existing tokens were
-- all-powerful, so they become admins.
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN role;
