"""Call logs uploaded by the mobile app, matched to the org's contacts by phone number."""
