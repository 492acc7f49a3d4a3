-- The HMIS side of the sample: the table the flow upserts into.
CREATE TABLE IF NOT EXISTS hmis_cases (
  case_id       text PRIMARY KEY,
  full_name     text,
  sex           text NOT NULL,
  birth_date    date,
  reported_on   date NOT NULL,
  outcome       text,
  district      text,
  source_system text NOT NULL
);
