-- MikoPBX configuration DB schema (subset): the one schema of every DB this project builds
--
-- Source of facts: github.com/mikopbx/Core @ e26e6b973bbef6a0d4d1064fe495e62c70f475df (2026-04-13)
--   src/Common/Models/Providers.php   -> m_Providers
--   src/Common/Models/Sip.php         -> m_Sip
--   src/Common/Models/SipHosts.php    -> m_SipHosts
--   src/Common/Models/NetworkFilters.php -> m_NetworkFilters (referenced by m_Sip.networkfilterid)
-- Live file on a PBX: /cf/conf/mikopbx.db (src/Core/System/RootFS/etc/inc/mikopbx-settings.json);
-- Docker host path per docs: /var/spool/mikopbx/cf/conf/mikopbx.db.
--
-- MikoPBX has no SQL migrations: at boot src/Core/System/Upgrade/UpdateDatabase.php creates/alters
-- tables from the models' @Column annotations using Phalcon's SQLite dialect. The column
-- declarations below follow that dialect exactly as seen in an upgraded DB shipped in the same repo
-- (tests/Calls/db/mikopbx.db): string -> VARCHAR(0) NULL, string length=1 -> VARCHAR(1),
-- integer -> INTEGER, identity -> INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, and DEFAULT only
-- where the annotation has default="...". Column order = property order in the model.
-- Real DBs may carry extra legacy columns (e.g. m_Sip.receive_calls_without_auth) or lack newer
-- ones (cid_*/did_* added in 2025+); readers must select columns by name.
-- The live DB runs in WAL mode (src/Common/Providers/DatabaseProviderBase.php).
-- No FOREIGN KEY constraints exist in SQLite; relations are enforced by the PHP ORM only:
--   m_Providers.sipuid = m_Sip.uniqid; m_SipHosts.provider_id = m_Sip.uniqid;
--   m_Sip.networkfilterid = m_NetworkFilters.id.
-- Providers are m_Sip rows with type='friend' (phones are type='peer').
-- Written by hand for sdp-guard (demo, tests, benchmarks: sdp_guard.demo.pbxdb); not copied from
-- MikoPBX source. m_LanInterfaces: src/Common/Models/LanInterfaces.php @ 0cc67cee85df.

CREATE TABLE IF NOT EXISTS "m_Providers" (
	`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uniqid` VARCHAR(0) NULL,        -- e.g. SIP-TRUNK-XXXXXXXX (legacy: SIP-1611151795)
	`type` VARCHAR(0) NULL,          -- 'SIP' | 'IAX'
	`sipuid` VARCHAR(0) NULL,        -- = m_Sip.uniqid (same value as uniqid for SIP)
	`iaxuid` VARCHAR(0) NULL,
	`note` VARCHAR(0) NULL
);

CREATE TABLE IF NOT EXISTS "m_Sip" (
	`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uniqid` VARCHAR(0) NULL,
	`disabled` VARCHAR(1) NOT NULL,              -- '0' | '1'
	`extension` VARCHAR(0) NULL,                 -- '' for providers
	`type` VARCHAR(0) NULL,                      -- 'friend' = provider, 'peer' = phone
	`registration_type` VARCHAR(0) NULL,         -- 'outbound' | 'inbound' | 'none' ('' = legacy, derived from noregister)
	`host` VARCHAR(0) NULL,                      -- remote host/IP; used in server_uri, client_uri, AOR contact, identify match, from_domain fallback
	`port` INTEGER NULL,                         -- default 5060
	`username` VARCHAR(0) NULL,
	`secret` VARCHAR(0) NULL,
	`transport` VARCHAR(0) NULL,                 -- 'udp,tcp' (auto) | 'udp' | 'tcp' | 'tls'
	`outbound_proxy` VARCHAR(0) NULL,            -- host[:port]
	`fromuser` VARCHAR(0) NULL,
	`fromdomain` VARCHAR(0) NULL,
	`nat` VARCHAR(0) NULL,                       -- legacy chan_sip value; REST API forces 'auto_force'; not used by PJSIP generator
	`dtmfmode` VARCHAR(0) NULL,                  -- 'auto' | 'rfc2833' (-> rfc4733) | 'info' | 'inband' | 'auto_info'
	`qualifyfreq` INTEGER NULL,                  -- default 60
	`qualify` VARCHAR(1) NULL,                   -- '1' | '0'
	`networkfilterid` INTEGER NULL,              -- m_NetworkFilters.id, NULL/''/'none' = no filter
	`manualattributes` VARCHAR(0) NULL,          -- base64 of ini text with [endpoint]/[aor]/[identify]/[registration]/[registration-auth]/[endpoint-auth]
	`disablefromuser` VARCHAR(1) DEFAULT "0" NULL,
	`noregister` VARCHAR(1) DEFAULT "0" NULL,
	`description` VARCHAR(0) NULL,               -- provider display name
	`enableRecording` INTEGER DEFAULT "1" NULL,
	`weakSecret` INTEGER DEFAULT "0" NULL,
	`cid_source` VARCHAR(0) DEFAULT "default" NULL,   -- default|from|rpid|pai|custom
	`cid_custom_header` VARCHAR(0) NULL,
	`cid_parser_start` VARCHAR(0) NULL,
	`cid_parser_end` VARCHAR(0) NULL,
	`cid_parser_regex` VARCHAR(0) NULL,
	`did_source` VARCHAR(0) DEFAULT "default" NULL,   -- default|to|diversion|custom
	`did_custom_header` VARCHAR(0) NULL,
	`did_parser_start` VARCHAR(0) NULL,
	`did_parser_end` VARCHAR(0) NULL,
	`did_parser_regex` VARCHAR(0) NULL,
	`cid_did_debug` VARCHAR(1) DEFAULT "0" NULL
);

CREATE TABLE IF NOT EXISTS "m_SipHosts" (
	`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	`provider_id` VARCHAR(0) NULL,   -- = m_Sip.uniqid
	`address` VARCHAR(0) NULL        -- extra host/IP; all rows + m_Sip.host form identify "match"
);

CREATE TABLE IF NOT EXISTS "m_NetworkFilters" (
	`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	`permit` VARCHAR(0) NULL,                    -- CIDR
	`deny` VARCHAR(0) NULL,
	`newer_block_ip` VARCHAR(1) DEFAULT "0" NULL,
	`local_network` VARCHAR(1) DEFAULT "0" NULL, -- '1' => added as local_net= on PJSIP transports
	`description` VARCHAR(0) NULL,
	`priority` VARCHAR(0) NULL                   -- order in the firewall list (NetworkFilters.php l.85)
);

-- src/Common/Models/FirewallRules.php (l.35-103): one row per port rule of each category of a
-- network filter; a filter without rows is shown as "allow everything" by the web UI.
CREATE TABLE IF NOT EXISTS "m_FirewallRules" (
	`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	`protocol` VARCHAR(0) NULL,                  -- 'udp' | 'tcp' | 'icmp'
	`portfrom` VARCHAR(0) NULL,
	`portto` VARCHAR(0) NULL,
	`networkfilterid` INTEGER NULL,              -- m_NetworkFilters.id
	`action` VARCHAR(0) NULL,                    -- 'allow' | 'block'
	`category` VARCHAR(0) NULL,                  -- SIP, IAX, WEB, SSH, AMI, AJAM, ICMP (+ modules')
	`portFromKey` VARCHAR(0) NULL,               -- m_PbxSettings key of portfrom, e.g. SIPPort
	`portToKey` VARCHAR(0) NULL,
	`description` VARCHAR(0) NULL
);

CREATE TABLE IF NOT EXISTS "m_LanInterfaces" (
	`id` INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` VARCHAR(0) NULL,
	`interface` VARCHAR(0) NULL,
	`vlanid` VARCHAR(0) NULL,
	`subnet` VARCHAR(0) NULL,                    -- prefix length, e.g. '24'
	`ipaddr` VARCHAR(0) NULL,
	`gateway` VARCHAR(0) NULL,
	`topology` VARCHAR(0) NULL,                  -- 'public' | 'private' (behind NAT)
	`extipaddr` VARCHAR(0) NULL,
	`exthostname` VARCHAR(0) NULL,
	`hostname` VARCHAR(0) NULL,
	`domain` VARCHAR(0) NULL,
	`primarydns` VARCHAR(0) NULL,
	`secondarydns` VARCHAR(0) NULL,
	`dhcp` VARCHAR(1) NOT NULL,
	`internet` VARCHAR(1) NOT NULL,
	`disabled` VARCHAR(1) NOT NULL
);
