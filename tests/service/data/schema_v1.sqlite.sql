CREATE TABLE notifications (
	fingerprint VARCHAR(64) NOT NULL, 
	starts_at_us BIGINT NOT NULL, 
	alertname TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	severity TEXT, 
	run TEXT, 
	hook_point TEXT, 
	labels JSON NOT NULL, 
	annotations JSON NOT NULL, 
	ends_at FLOAT, 
	generator_url VARCHAR(2000) NOT NULL, 
	receiver VARCHAR(200) NOT NULL, 
	first_received_at FLOAT NOT NULL, 
	last_received_at FLOAT NOT NULL, 
	deliveries INTEGER NOT NULL, 
	PRIMARY KEY (fingerprint, starts_at_us)
);

CREATE INDEX ix_notifications_run ON notifications (run);

CREATE TABLE probe_packs (
	name VARCHAR(64) NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	manifest JSON NOT NULL, 
	size_bytes BIGINT NOT NULL, 
	created_at FLOAT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE schema_version (
	version INTEGER NOT NULL
);

CREATE TABLE tokens (
	token_id VARCHAR(16) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	secret_sha256 VARCHAR(64) NOT NULL, 
	scopes VARCHAR(100) NOT NULL, 
	created_at FLOAT NOT NULL, 
	revoked_at FLOAT, 
	PRIMARY KEY (token_id)
);

CREATE TABLE probe_pack_archives (
	name VARCHAR(64) NOT NULL, 
	archive BLOB NOT NULL, 
	PRIMARY KEY (name), 
	FOREIGN KEY(name) REFERENCES probe_packs (name)
);

CREATE TABLE runs (
	run_id INTEGER NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	probe_pack VARCHAR(64) NOT NULL, 
	model_id VARCHAR(200) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	detector_config JSON NOT NULL, 
	labels JSON NOT NULL, 
	prompt_set_hash VARCHAR(64), 
	detector_state JSON, 
	n_checks INTEGER NOT NULL, 
	last_step BIGINT, 
	last_check_at FLOAT, 
	created_at FLOAT NOT NULL, 
	finished_at FLOAT, 
	PRIMARY KEY (run_id), 
	UNIQUE (name), 
	FOREIGN KEY(probe_pack) REFERENCES probe_packs (name)
);

CREATE TABLE alerts (
	run_id INTEGER NOT NULL, 
	alert_id VARCHAR(400) NOT NULL, 
	hook_point VARCHAR(200) NOT NULL, 
	feature VARCHAR(100) NOT NULL, 
	rule VARCHAR(64) NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	threshold FLOAT NOT NULL, 
	value FLOAT NOT NULL, 
	peak FLOAT NOT NULL, 
	started_step BIGINT NOT NULL, 
	started_at FLOAT NOT NULL, 
	firing_step BIGINT, 
	firing_at FLOAT, 
	resolved_step BIGINT, 
	resolved_at FLOAT, 
	PRIMARY KEY (run_id, alert_id), 
	FOREIGN KEY(run_id) REFERENCES runs (run_id)
);

CREATE TABLE checks (
	run_id INTEGER NOT NULL, 
	step BIGINT NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	received_at FLOAT NOT NULL, 
	PRIMARY KEY (run_id, step), 
	FOREIGN KEY(run_id) REFERENCES runs (run_id)
);

CREATE TABLE scores (
	run_id INTEGER NOT NULL, 
	step BIGINT NOT NULL, 
	hook_point VARCHAR(200) NOT NULL, 
	feature VARCHAR(100) NOT NULL, 
	value FLOAT NOT NULL, 
	zscore FLOAT NOT NULL, 
	cusum FLOAT NOT NULL, 
	per_prompt JSON NOT NULL, 
	PRIMARY KEY (run_id, step, hook_point, feature), 
	FOREIGN KEY(run_id) REFERENCES runs (run_id)
);

INSERT INTO schema_version (version) VALUES (1);
