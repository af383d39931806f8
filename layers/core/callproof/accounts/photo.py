"""The account photo: a presigned S3 POST whose policy S3 enforces (type, size, key), a short-lived
download URL, and deletion of every stored version. Pure: storage is a port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from callproof.accounts.model import photo_key
from callproof.errors import NotFound

if TYPE_CHECKING:
    from callproof.accounts.ports import PhotoStorage
    from callproof.tenancy import Caller

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
UPLOAD_TTL = timedelta(minutes=10)
DOWNLOAD_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PhotoUpload:
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int
    content_type: str


@dataclass(frozen=True, slots=True)
class PhotoDownload:
    url: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class PhotoService:
    def __init__(self, storage: PhotoStorage, clock: Callable[[], datetime] = _now) -> None:
        self._storage = storage
        self._clock = clock

    def upload(self, caller: Caller, content_type: str) -> PhotoUpload:
        """The policy pins the key, this exact Content-Type and 1 byte to 5 MB: S3 refuses the rest."""
        url, fields = self._storage.presign_post(
            photo_key(caller.org_id, caller.user_id), content_type, MAX_PHOTO_BYTES, UPLOAD_TTL
        )
        return PhotoUpload(url, fields, self._clock() + UPLOAD_TTL, MAX_PHOTO_BYTES, content_type)

    def download(self, caller: Caller) -> PhotoDownload:
        key = photo_key(caller.org_id, caller.user_id)
        if not self._storage.exists(key):
            raise NotFound("no photo", field="photo")
        return PhotoDownload(self._storage.presign_get(key, DOWNLOAD_TTL), self._clock() + DOWNLOAD_TTL)

    def delete(self, caller: Caller) -> int:
        """Every version and delete marker goes; answers how many (0: there was none)."""
        return self._storage.delete_all_versions(photo_key(caller.org_id, caller.user_id))
