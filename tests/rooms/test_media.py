"""Media names and paths, and the limits an upload must keep."""

from __future__ import annotations

import pytest

from rooms.errors import ErrorCode, VotingError
from rooms.media import (
    MAX_BYTES,
    MAX_PIXELS,
    check_dimensions,
    check_image_path,
    check_upload_size,
    content_type,
    is_media_name,
    media_name,
    name_of_path,
    not_an_image,
    too_many_pixels,
)

DIGEST = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("ext", "mime"),
    [
        pytest.param("png", "image/png", id="png"),
        pytest.param("jpg", "image/jpeg", id="jpg"),
        pytest.param("gif", "image/gif", id="gif"),
        pytest.param("webp", "image/webp", id="webp"),
    ],
)
def test_each_accepted_format_has_a_name_and_a_content_type(ext: str, mime: str) -> None:
    name = media_name(DIGEST, ext)

    assert name == f"{DIGEST}.{ext}"
    assert is_media_name(name)
    assert content_type(name) == mime
    assert name_of_path(f"/media/{name}") == name
    assert check_image_path(f"/media/{name}", "image") == f"/media/{name}"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(f"{DIGEST}.svg", id="svg"),
        pytest.param(f"{DIGEST}.jpeg", id="jpeg-spelling"),
        pytest.param(f"{DIGEST}.PNG", id="upper-case-ext"),
        pytest.param(f"{DIGEST.upper()}.png", id="upper-case-digest"),
        pytest.param(f"{DIGEST[:-1]}.png", id="short-digest"),
        pytest.param(f"{DIGEST}0.png", id="long-digest"),
        pytest.param(f"{DIGEST}.png\n", id="trailing-newline"),
        pytest.param(f"../{DIGEST}.png", id="traversal"),
        pytest.param("", id="empty"),
    ],
)
def test_other_names_are_not_media(name: str) -> None:
    assert not is_media_name(name)
    assert name_of_path(f"/media/{name}") is None


def test_media_name_refuses_a_bad_digest() -> None:
    with pytest.raises(ValueError, match="not a media name"):
        media_name("xyz", "png")


def test_a_path_elsewhere_names_no_media() -> None:
    assert name_of_path(f"/static/{DIGEST}.png") is None


@pytest.mark.parametrize("empty", [None, ""], ids=["none", "empty"])
def test_no_image_is_the_empty_path(empty: object) -> None:
    assert check_image_path(empty, "image") == ""


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(3, id="int"),
        pytest.param(f"/static/{DIGEST}.png", id="elsewhere"),
        pytest.param(f"https://example.org/media/{DIGEST}.png", id="absolute-url"),
    ],
)
def test_other_image_references_are_refused(value: object) -> None:
    with pytest.raises(VotingError) as caught:
        check_image_path(value, "option image")

    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.fields == {
        "detail": "option image must be the path of an uploaded image (/media/…)"
    }


def test_upload_of_exactly_five_mib_is_allowed_one_byte_more_is_not() -> None:
    check_upload_size(MAX_BYTES)
    with pytest.raises(VotingError) as caught:
        check_upload_size(MAX_BYTES + 1)

    assert caught.value.fields == {"detail": "the file is larger than 5 MiB"}


def test_forty_megapixels_are_allowed_one_more_pixel_is_not() -> None:
    check_dimensions(8000, 5000)
    assert 8000 * 5000 == MAX_PIXELS
    with pytest.raises(VotingError) as caught:
        check_dimensions(8000, 5001)

    assert caught.value.fields == {"detail": "the image has more than 40 megapixels"}
    assert caught.value.fields == too_many_pixels().fields


def test_not_an_image_names_the_accepted_formats() -> None:
    err = not_an_image()

    assert err.code is ErrorCode.BAD_REQUEST
    assert err.message == (
        "The request is malformed: the file is not an image (PNG, JPEG, GIF or WebP)."
    )
