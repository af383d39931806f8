"""Calendars: Google Calendar and Office 365 (Microsoft Graph), written only in the selected calendar."""
