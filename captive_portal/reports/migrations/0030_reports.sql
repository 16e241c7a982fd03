-- 940 reports: the category catalogue, reports with their timeline and photos, closure codes,
-- the transactional outbox towards the back office, status updates already applied, citizen
-- notifications waiting for the SMS gateway, and Open311 API keys.
CREATE TABLE report_categories (
    code              TEXT PRIMARY KEY,              -- Open311 service_code
    name_ar           TEXT NOT NULL,
    name_en           TEXT NOT NULL,
    description_ar    TEXT NOT NULL DEFAULT '',
    description_en    TEXT NOT NULL DEFAULT '',
    grp               TEXT NOT NULL DEFAULT '',      -- Open311 group
    keywords          TEXT NOT NULL DEFAULT '',      -- comma separated, Open311 keywords
    default_priority  TEXT NOT NULL CHECK (default_priority IN ('low', 'normal', 'high', 'urgent')),
    sla_hours         INTEGER NOT NULL CHECK (sla_hours > 0),
    team              TEXT NOT NULL,                 -- responsible team (agency_responsible)
    active            INTEGER NOT NULL DEFAULT 1,
    sort_order        INTEGER NOT NULL DEFAULT 0
);

INSERT INTO report_categories VALUES
 ('lighting', 'إنارة الشوارع والحدائق', 'Street and park lighting',
  'عمود إنارة مطفأ أو تالف أو أسلاك مكشوفة', 'Lights out, damaged poles or exposed wiring',
  'infrastructure', 'light,lamp,pole,wire', 'normal', 72, 'Lighting maintenance', 1, 10),
 ('cleanliness', 'النظافة', 'Cleanliness',
  'نفايات أو حاويات ممتلئة أو مخلفات', 'Litter, full bins or dumped waste',
  'environment', 'litter,waste,bin,garbage', 'normal', 24, 'Cleaning services', 1, 20),
 ('roads', 'الحفر والأرصفة', 'Potholes and sidewalks',
  'حفر في الطريق أو أرصفة متضررة', 'Potholes, broken kerbs or damaged sidewalks',
  'infrastructure', 'pothole,sidewalk,kerb,road', 'normal', 72, 'Roads and sidewalks', 1, 30),
 ('water', 'تسرب المياه وتصريف الأمطار', 'Water leaks and drainage',
  'تسرب مياه أو انسداد تصريف أو تجمع مياه', 'Leaking pipes, blocked drains or standing water',
  'infrastructure', 'leak,drain,flood,water', 'high', 24, 'Water and drainage', 1, 40),
 ('parks', 'مرافق الحدائق والأشجار', 'Park facilities and trees',
  'مقاعد أو ألعاب أو أشجار تحتاج صيانة', 'Benches, play equipment or trees needing care',
  'parks', 'bench,playground,tree,irrigation', 'normal', 72, 'Parks maintenance', 1, 50),
 ('pests', 'الآفات ورش المبيدات', 'Pests and spraying',
  'حشرات أو قوارض أو طلب رش', 'Insects, rodents or a spraying request',
  'health', 'insects,rodents,mosquito,spraying', 'normal', 48, 'Environmental health', 1, 60),
 ('wifi', 'مشكلة في الواي فاي', 'WiFi problem',
  'ضعف أو انقطاع شبكة واي فاي الأمانة', 'Amanah WiFi weak or not working',
  'wifi', 'wifi,internet,network', 'low', 72, 'Network operations', 1, 70);

CREATE TABLE reports (
    id                 INTEGER PRIMARY KEY,
    tracking           TEXT NOT NULL UNIQUE,         -- 940-YYYY-NNNNNN
    token              TEXT NOT NULL UNIQUE,         -- Open311 token (random)
    category           TEXT NOT NULL REFERENCES report_categories(code),
    description        TEXT NOT NULL,
    priority           TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status             TEXT NOT NULL CHECK (status IN ('received', 'forwarded', 'acknowledged',
                           'assigned', 'in_progress', 'resolved', 'closed', 'rejected', 'reopened')),
    channel            TEXT NOT NULL CHECK (channel IN ('portal', 'open311', 'backoffice')),
    locale             TEXT NOT NULL,
    site               TEXT,                         -- site slug of the visitor's WiFi session
    ap                 TEXT,                         -- AP name of the visitor's WiFi session
    gateway_id         TEXT,
    lat                REAL CHECK (lat IS NULL OR lat BETWEEN -90 AND 90),
    lon                REAL CHECK (lon IS NULL OR lon BETWEEN -180 AND 180),
    location_source    TEXT,                         -- browser, photo_exif, open311, site
    address            TEXT,
    address_id         TEXT,
    phone              TEXT,                         -- E.164
    phone_verified     INTEGER NOT NULL DEFAULT 0,
    reporter_name      TEXT,
    email              TEXT,
    device_id          TEXT,
    account_id         TEXT,
    media_url          TEXT,
    api_client         TEXT,                         -- Open311 key name that filed it
    team               TEXT NOT NULL,
    assigned_to        TEXT,
    status_note        TEXT,
    created_at         REAL NOT NULL,                -- unix seconds
    updated_at         REAL NOT NULL,
    due_at             REAL NOT NULL,                -- SLA due time
    escalation_level   INTEGER NOT NULL DEFAULT 0,
    escalated_at       REAL,
    closure_hash       TEXT,                         -- sha256 of the closure code, never the code
    closure_issued_at  REAL,
    closure_attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reports_created ON reports(created_at);
CREATE INDEX reports_status_due ON reports(status, due_at);
CREATE INDEX reports_category ON reports(category, created_at);

-- One counter row per year: tracking numbers restart at 000001 every January.
CREATE TABLE report_sequences (
    year   INTEGER PRIMARY KEY,
    last   INTEGER NOT NULL
);

CREATE TABLE report_events (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,                       -- status, escalation, note, phone, closure
    status      TEXT,                                -- the status after the event
    actor       TEXT NOT NULL,                       -- citizen, backoffice, forwarder, sla, admin
    note        TEXT
);
CREATE INDEX report_events_report ON report_events(report_id, id);

CREATE TABLE report_photos (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    token       TEXT NOT NULL UNIQUE,                -- unguessable name in the photo URL
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    data        BLOB NOT NULL                        -- re-encoded, EXIF stripped
);
CREATE INDEX report_photos_report ON report_photos(report_id);

-- The transactional outbox: written in the same transaction as what it announces.
CREATE TABLE report_outbox (
    id               INTEGER PRIMARY KEY,
    message_id       TEXT NOT NULL UNIQUE,           -- idempotency key the back office acks
    report_id        INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    topic            TEXT NOT NULL,                  -- relative to the MQTT prefix
    payload          TEXT NOT NULL,                  -- JSON, schema included
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'acknowledged')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    created_at       REAL NOT NULL,
    last_sent_at     REAL,
    acked_at         REAL
);
CREATE INDEX report_outbox_due ON report_outbox(state, next_attempt_at);

-- Status updates from the back office already applied (they may arrive more than once).
CREATE TABLE report_status_updates (
    update_id    TEXT PRIMARY KEY,
    report_id    INTEGER REFERENCES reports(id) ON DELETE CASCADE,
    applied_at   REAL NOT NULL,
    outcome      TEXT NOT NULL                       -- applied, invalid_transition, unknown_report
);

-- Citizen SMS decided in the same transaction as the change they announce, handed to the SMS
-- gateway afterwards (so a crash between the two cannot lose a message).
CREATE TABLE report_notifications (
    id           INTEGER PRIMARY KEY,
    report_id    INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    to_number    TEXT NOT NULL,
    body         TEXT NOT NULL,
    purpose      TEXT NOT NULL,                      -- report_received, report_status, closure_code, escalation
    locale       TEXT NOT NULL,
    created_at   REAL NOT NULL,
    sms_id       INTEGER REFERENCES sms_messages(id),
    handed_at    REAL
);
CREATE INDEX report_notifications_pending ON report_notifications(handed_at, id);

CREATE TABLE open311_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    key_sha256   TEXT NOT NULL UNIQUE,
    created_at   REAL NOT NULL,
    last_used_at REAL
);
