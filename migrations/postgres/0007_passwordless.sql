-- Passwordless sign-in (issue 13): what a login with a phone or email and no
-- password starts for the user: 'off', 'push' (a number-matched push) or
-- 'sms' (a texted code, only while the operator allows it).
ALTER TABLE users ADD COLUMN passwordless text NOT NULL DEFAULT 'off'
    CHECK (passwordless IN ('off', 'push', 'sms'));

-- An approval started by a passwordless login: '' for the second factor of a
-- password login, else 'push' or 'sms'. Such an approval is decided on its
-- channel only (no fallback, no code for a push), and its session's amr
-- holds no "pwd".
ALTER TABLE approvals ADD COLUMN passwordless text NOT NULL DEFAULT '';

-- The placeholder owner of the approvals a passwordless login starts for an
-- identifier that has no passwordless sign-in (unknown, or turned off): they
-- are real rows, read, watched and expired as any other, that nothing can
-- decide. It cannot sign in: no phone, never verified, no password hash.
INSERT INTO users (id, name, email, phone, phone_verified, password_hash, two_factor, passwordless, created_at, updated_at)
VALUES ('usr_passwordless_placeholder', '', '', '', false, '!', false, 'off', now(), now())
ON CONFLICT (id) DO NOTHING;
