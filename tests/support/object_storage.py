"""A real S3 API server on loopback: moto in server mode, the stand-in for AWS S3, R2 or Tigris.

It speaks the S3 protocol over HTTP to the generated project's django-storages
(boto3) exactly as a cloud bucket would, and refuses an unsigned read of a
private object. It does not check signatures (any key pair is accepted), so
what it proves is that objects are private and URLs carry a signature, not
that a forged one would fail.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import boto3

from tests.support.private_servers import HOST, PrivateServer

ACCESS_KEY = "moto-access-key"
# moto accepts any key pair.
SECRET_KEY = "moto-secret-key"
REGION = "us-east-1"


class PrivateS3(PrivateServer):
    name = "moto-s3"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        """Create a bucket of the caller's own; return its name."""
        name = f"media-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def media_env(self, bucket: str) -> dict[str, str]:
        """The variables a deploy sets to keep the project's uploads in *bucket*."""
        return {
            "MEDIA_STORAGE_URL": f"s3://{bucket}",
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))
