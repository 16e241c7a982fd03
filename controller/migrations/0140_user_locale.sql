-- users.locale: the language the admin UI speaks to this user ('ar' or 'en'); NULL follows the
-- language switch cookie, then the browser's Accept-Language, then Arabic.
ALTER TABLE users ADD COLUMN locale TEXT CHECK (locale IS NULL OR locale IN ('ar', 'en'));
