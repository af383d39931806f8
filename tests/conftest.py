"""Shared by every test tier."""

from __future__ import annotations

import functools

import botocore.loaders
import botocore.session

# Every test gets fresh boto3 sessions (moto resets boto3's default one per mock), and each new session
# would parse botocore's service and endpoint JSON again: about half of a moto test's CPU. The data is
# read-only, so one loader serves every session of the process.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)
