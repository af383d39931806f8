"""Adapters to outside services (Twilio, Google, Microsoft). Only the functions that use one import it."""
