"""Building and running the kafka-vitals container image on a machine without a Docker engine.

`base` makes the Debian base image that the Dockerfile starts FROM (debootstrap from the apt mirror
the machine already uses, imported into podman's store, cached); `image` builds the real
Dockerfile with `podman build --isolation chroot`, inspects the result and runs commands in it with
`buildah run --isolation chroot` on the host network. `python -m tests.container build` does the
same by hand.
"""
