"""How the mail and call-log stores of personal data scale, on moto in this process (no local stack):
N synced emails + N call logs of one subject, then each store's collect (rows and files), erase and
residue timed in CPU seconds of this process (moto's work included, other processes' load not), with
the AWS requests they make. Run at two sizes; the ratios show what grows faster than the records
(issue 14, point 4: time within 1.3x of linear).

    .venv/bin/python -m bench.dsar_stores 500 2500
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

ORG, PHONE, CONTACT, EMAIL = "bench-dsar", "+14155550100", "c" * 32, "subject@example.com"


def measure(records: int) -> dict[str, float]:
    from moto import mock_aws

    from callproof import aws, config, wiring
    from callproof.calls.model import CallLog, Direction, Match, MatchStatus
    from callproof.calls.numbers import NumberKind
    from callproof.dsar.model import Subject
    from callproof.dsar.ports import PersonalDataStore
    from callproof.mail.model import EmailRecord
    from callproof.store.calls_dynamo import DynamoCallLogStore
    from callproof.store.calls_personal_data_dynamo import CallLogsData
    from callproof.store.mail_bodies_s3 import S3MailBlobs
    from callproof.store.mail_index_dynamo import DynamoMailIndex
    from callproof.store.mail_personal_data import MailData
    from callproof_local import moto_patches
    from callproof_local.provision import provision
    from callproof_local.template import load_template
    from tests.support import TEMPLATE

    moto_patches.install()
    with mock_aws():
        aws.reset()
        config.clear_cache()
        wiring.reset()
        stack: Any = provision(load_template(TEMPLATE), TEMPLATE.parent, None)  # type: ignore[arg-type]
        dynamodb, s3 = aws.dynamodb(), aws.s3()
        calls_table, mail_table = stack["CallLogsTable"].ref, stack["MailTable"].ref
        bucket = stack["DataBucket"].ref
        now = datetime.now(UTC)
        started = time.process_time()
        calls = [
            CallLog(
                org_id=ORG,
                id=str(uuid.uuid4()),
                user_id="rep-1",
                device_id="phone-1",
                direction=Direction.OUTBOUND,
                started_at=now - timedelta(minutes=i),
                duration_seconds=60,
                raw_number=PHONE,
                number_kind=NumberKind.PHONE,
                match=Match(MatchStatus.UNIQUE, (CONTACT,)),
                content_hash=f"h{i}",
                received_at=now,
                e164=PHONE,
            )
            for i in range(records)
        ]
        assert not DynamoCallLogStore(dynamodb, calls_table).put_many(calls)
        index, blobs = DynamoMailIndex(dynamodb, mail_table), S3MailBlobs(s3, bucket)
        for i in range(records):
            key = f"orgs/{ORG}/mail/rep-1/g{i}.json"
            document = {"gmail_id": f"g{i}", "headers": [["From", EMAIL]], "internal_date": 1}
            blobs.put(key, json.dumps(document | {"text": "Hello\n" * 20, "attachments": []}).encode())
            index.put(
                EmailRecord(
                    org_id=ORG,
                    email_id=f"rep-1.g{i}",
                    user_id="rep-1",
                    gmail_id=f"g{i}",
                    thread_id=f"t{i // 3}",
                    internal_date=1_795_000_000_000 + i,
                    subject=f"Quote {i}",
                    sender=EMAIL,
                    contact_ids=(CONTACT,),
                    object_key=key,
                )
            )
        figures = {"seed (moto itself)": time.process_time() - started}
        subject = Subject(
            ORG, emails=frozenset({EMAIL}), phones=frozenset({PHONE}), contact_ids=frozenset({CONTACT})
        )
        requests: Counter[str] = Counter()
        for client in (dynamodb, s3):
            client.meta.events.register("before-call", lambda model, **_: requests.update([model.name]))
        stores: list[PersonalDataStore] = [
            MailData(dynamodb, mail_table, index, blobs),
            CallLogsData(dynamodb, calls_table),
        ]
        for store in stores:
            requests.clear()
            started = time.process_time()
            rows = sum(1 for _ in store.rows(subject)) + sum(1 for _ in store.files(subject))
            figures[f"{store.name} collect"] = time.process_time() - started
            started = time.process_time()
            store.erase(subject)
            figures[f"{store.name} erase"] = time.process_time() - started
            started = time.process_time()
            assert store.residue(subject) == 0
            assert rows >= records
            figures[f"{store.name} residue"] = time.process_time() - started
            figures[f"{store.name} AWS requests"] = sum(requests.values())
        return figures


def main(sizes: list[int]) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    results = {size: measure(size) for size in sizes}
    first, last = sizes[0], sizes[-1]
    print(
        f"{'figure':<24}" + "".join(f"{size:>10}" for size in sizes) + f"   ratio (records x{last / first:g})"
    )
    for name in results[first]:
        values = [results[size][name] for size in sizes]
        ratio = values[-1] / max(values[0], 1e-9)
        print(f"{name:<24}" + "".join(f"{value:>10.2f}" for value in values) + f"   x{ratio:.1f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [500, 2500])
