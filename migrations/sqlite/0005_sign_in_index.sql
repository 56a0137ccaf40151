-- Sign-in history (the account centre, staff checks of an account) reads only sign-in events
-- among all the requests a customer makes: a partial index finds them directly, however many
-- ordinary requests the account has logged.
CREATE INDEX access_log_sign_ins ON access_log (subject_kind, subject_id, at)
    WHERE event IN ('sign_in', 'sign_in_failed');
