"""940 reports: the category catalogue, intake, lifecycle, photos, closure codes, escalation.

The domain lives here (no Flask, no MQTT): `intake.file_report` writes a report with its outbox
message in one transaction, `workflow` moves it through the lifecycle, `escalation` runs the SLA
rules, `notify` hands citizen SMS to the portal's SMS gateway. The portal pages
(`captive_portal.reports.views`) and Open311 (`captive_portal.open311`) are two intake
channels; the controller's forwarder carries the outbox to the back office over MQTT.
"""
