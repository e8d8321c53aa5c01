"""Build OCI image layouts with the standard library only (tarfile, gzip,
hashlib, json), for skopeo to push into the test registries.

    layout = OciLayout(path)
    img = layout.image([{"a.txt": b"hello"}, {"b/c.txt": b"x" * 1000}], arch="amd64")
    layout.tag(img, "v1")                          # one image
    idx = layout.index([img_amd64, img_arm64])     # a multi-platform index
    layout.tag(idx, "multi")
"""

import gzip
import hashlib
import io
import json
import os
import tarfile

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tar(files):
    """files: {path: bytes}; deterministic (fixed mtimes and owners)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set()
        for path in sorted(files):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    info.mtime = 1700000000
                    tar.addfile(info)
            data = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Descriptor(dict):
    @property
    def digest(self):
        return self["digest"]

    @property
    def size(self):
        return self["size"]


class OciLayout:
    def __init__(self, path):
        self.path = path
        self.blobs = os.path.join(path, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.refs = []
        self._write_index()

    def blob(self, data, media_type):
        digest = sha256(data)
        with open(os.path.join(self.blobs, digest.split(":")[1]), "wb") as f:
            f.write(data)
        return Descriptor(mediaType=media_type, digest=digest, size=len(data))

    def read(self, digest):
        with open(os.path.join(self.blobs, digest.split(":")[1]), "rb") as f:
            return f.read()

    def image(self, layers, arch="amd64", os_name="linux", variant=None, compress=True,
              cmd=("/bin/sh",)):
        """layers: list of {path: bytes}.  Returns the manifest descriptor
        (with a platform, ready for an index)."""
        layer_descs, diff_ids = [], []
        for files in layers:
            tar = make_tar(files)
            diff_ids.append(sha256(tar))
            if compress:
                data = gzip.compress(tar, mtime=0)
                layer_descs.append(self.blob(data, MT_LAYER_GZIP))
            else:
                layer_descs.append(self.blob(tar, MT_LAYER_TAR))
        config = {
            "architecture": arch,
            "os": os_name,
            "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        if variant:
            config["variant"] = variant
        config_desc = self.blob(json.dumps(config, sort_keys=True).encode(), MT_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": dict(config_desc),
            "layers": [dict(d) for d in layer_descs],
        }
        desc = self.blob(json.dumps(manifest, indent=2).encode(), MT_MANIFEST)
        desc["platform"] = {"architecture": arch, "os": os_name}
        if variant:
            desc["platform"]["variant"] = variant
        desc.config = config_desc
        desc.layers = layer_descs
        return desc

    def index(self, manifests):
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [dict(m) for m in manifests]}
        return self.blob(json.dumps(index, indent=2).encode(), MT_INDEX)

    def tag(self, desc, name):
        ref = dict(desc)
        ref.pop("platform", None)
        ref["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs.append(ref)
        self._write_index()

    def _write_index(self):
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.refs}, f)
