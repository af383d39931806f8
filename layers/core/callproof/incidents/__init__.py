"""The breach register: incidents, who they affect, the 72-hour clock and the people's notification."""
