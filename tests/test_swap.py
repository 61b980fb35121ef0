import subprocess

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from deepfake_utils import blend, checkpoint, extract, metrics, paste, swap, track, video
from deepfake_utils.errors import DeepfakeError
from deepfake_utils.landmarks import landmark_error


@pytest.fixture(scope="module")
def face(frame):
    found = track.FaceFinder()(frame)
    assert found is not None
    return found


@pytest.mark.parametrize("size, bound", [(256, 1.0), (64, 2.0)])
def test_inverse_warp_puts_the_crop_back_where_it_came_from(frame, face, size, bound):
    crop = paste.model_input(frame, face.landmarks, size)
    matrix = paste.model_matrix(face.landmarks, size)
    back = paste.paste_face(frame, crop, matrix)
    square = blend.rect_mask(frame.shape, matrix, size)
    inside = blend.adjust_mask(square, erode=3) > 0.99
    assert inside.sum() > 150 ** 2  # the face square is big in this 844 px frame
    assert np.abs(back.astype(int) - frame)[inside].mean() < bound  # mean error in grey levels
    assert np.array_equal(back[square == 0], frame[square == 0])  # transparent border: the rest is untouched
    assert 200 < paste.face_size(matrix, size) < 260


def test_every_mask_is_inside_the_frame_and_covers_the_face(frame, face):
    matrix = paste.model_matrix(face.landmarks)
    centre = np.round(face.landmarks[27:48].mean(0)).astype(int)  # between the eyes and the nose
    areas = {}
    for kind in blend.MASKS:
        mask = blend.face_mask(kind, frame.shape, face.landmarks, matrix, 64)
        assert mask.shape == frame.shape[:2] and mask.dtype == np.float32
        assert mask.min() >= 0 and mask.max() <= 1
        assert mask[centre[1], centre[0]] == 1
        areas[kind] = (mask > 0.5).sum()
        assert areas[kind] > 100 ** 2
    assert areas["hull_rect"] <= min(areas["hull"], areas["rect"])
    mask = blend.face_mask("hull_rect", frame.shape, face.landmarks, matrix, 64)
    shrunk, grown = ((blend.adjust_mask(mask, erode=e) > 0.5).sum() for e in (10, -10))
    assert shrunk < areas["hull_rect"] < grown
    feathered = blend.adjust_mask(mask, blur=8)
    assert ((feathered > 0.05) & (feathered < 0.95)).sum() > 1000  # a soft edge
    with pytest.raises(ValueError, match="unknown mask"):
        blend.face_mask("circle", frame.shape, face.landmarks, matrix, 64)


def test_the_forehead_mask_adds_the_brows_and_lower_forehead_to_the_hull_and_nothing_at_the_sides(frame, face):
    matrix = paste.model_matrix(face.landmarks, 64, 192)  # the fast recipe's framing, the bench's
    masks = {kind: blend.face_mask(kind, frame.shape, face.landmarks, matrix, 64) > 0.5
             for kind in ("hull_rect", "forehead", "rect")}
    assert (masks["hull_rect"] <= masks["forehead"]).all() and (masks["forehead"] <= masks["rect"]).all()
    raised = blend.forehead_points(face.landmarks)
    brows, eyes = face.landmarks[17:27], face.landmarks[36:48]
    assert raised.shape == (10, 2) and (raised[:, 1] < brows[:, 1]).all()  # above the brows (y grows downwards)
    lift = brows[:, 1].mean() - raised[:, 1].mean()
    assert lift == pytest.approx(eyes[:, 1].mean() - brows[:, 1].mean(), rel=0.05)  # as high as brows over eyes
    feather = round(paste.Options().blur * paste.face_size(matrix, 64))  # convert's default feather, in px
    band, hull_band = (blend.adjust_mask(masks[kind].astype(np.float32), blur=feather)
                       for kind in ("forehead", "hull_rect"))
    at_brows = np.round(brows[1:-1]).astype(int)  # the outer tips lie on the hull's side, feathered either way
    assert band[at_brows[:, 1], at_brows[:, 0]].min() > 0.9  # the convert default feather keeps B's brows whole
    assert hull_band[at_brows[:, 1], at_brows[:, 0]].mean() < 0.75  # where the default mask fades them into A's
    rows = np.nonzero(masks["forehead"].any(1))[0]
    below = np.arange(frame.shape[0]) > face.landmarks[:, 1].max()  # under the chin: no more than the hull there
    assert not (masks["forehead"] & ~masks["hull_rect"])[below].any() and rows.min() < brows[:, 1].min()


@pytest.mark.parametrize("method", ["avg", "hist", "lab", "local"])
def test_colour_transfer_moves_the_face_colour_toward_the_target(frame, face, method):
    mask = blend.hull_mask(frame.shape, face.landmarks)
    inside = mask > 0.5
    bluish = np.clip(frame.astype(int) + (-40, 10, 50), 0, 255).astype(np.uint8)
    fixed = blend.correct_colour(method, bluish, frame, mask)
    before = np.abs(bluish[inside].mean(0) - frame[inside].mean(0)).max()
    after = np.abs(fixed[inside].mean(0) - frame[inside].mean(0)).max()
    assert after < before / 4, (before, after)
    assert np.array_equal(fixed[~inside], bluish[~inside])
    assert blend.correct_colour("none", bluish, frame, mask) is bluish


def test_local_colour_takes_the_frames_shading_and_keeps_the_faces_finer_structure(frame, face):
    """'local': under a light that changes across the face, the average colour leaves a step at the mask's edge;
    the local mean colour follows the light there, and keeps the new face's own texture."""
    mask = blend.hull_mask(frame.shape, face.landmarks)
    inside = mask > 0.5
    xs = np.arange(frame.shape[1], dtype=np.float32)[None, :, None]
    ramp = 80 * (xs - xs.mean()) / frame.shape[1]  # the frame lit from one side: -40 .. +40 grey levels
    lit = np.clip(np.full(frame.shape, 140.0) + ramp, 0, 255).astype(np.uint8)  # (A's skin, plain)
    rng = np.random.default_rng(0)
    texture = rng.normal(0, 6, frame.shape[:2])[..., None]  # the new face's fine structure
    new = np.clip(np.full(frame.shape, 120.0) + texture, 0, 255).astype(np.uint8)
    fixed = {m: blend.correct_colour(m, new, lit, mask).astype(float) for m in ("avg", "local")}
    ring = inside & (cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0)  # the inner edge
    smooth = {m: cv2.GaussianBlur(f, (0, 0), 3) for m, f in fixed.items()}
    step = {m: np.abs(smooth[m] - cv2.GaussianBlur(lit.astype(float), (0, 0), 3))[ring].mean() for m in fixed}
    assert step["local"] < step["avg"] / 2, step  # the light at the edge is the frame's
    fine = {k: f - cv2.GaussianBlur(f, (0, 0), 2) for k, f in (("new", new.astype(float)), ("local", fixed["local"]))}
    kept = np.corrcoef(fine["new"][inside].ravel(), fine["local"][inside].ravel())[0, 1]
    assert kept > 0.95, kept  # the face's own texture is still there
    assert np.array_equal(fixed["local"][~inside], new[~inside])  # outside the mask: untouched
    same = blend.match_local_colour(lit, lit, mask)
    assert np.abs(same.astype(int) - lit).max() <= 1  # a face already in the frame's light: unchanged
    with pytest.raises(ValueError, match="sigma"):
        blend.match_local_colour(new, lit, mask, sigma=0)
    with pytest.raises(ValueError, match="empty"):
        blend.match_local_colour(new, lit, np.zeros_like(mask))


def test_blending_sharpening_and_seamless_clone(frame, face):
    mask = blend.adjust_mask(blend.hull_mask(frame.shape, face.landmarks), 4, 6)
    dark = (frame * 0.5).astype(np.uint8)
    mixed = blend.alpha_blend(frame, dark, mask)
    assert np.array_equal(mixed[mask == 0], frame[mask == 0]) and np.array_equal(mixed[mask == 1], dark[mask == 1])
    cloned = blend.seamless_clone(frame, dark, mask)
    assert cloned.shape == frame.shape and np.array_equal(cloned[mask == 0], frame[mask == 0])
    sharp = blend.sharpen(frame, 1.0)
    lap = [cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for x in (frame, sharp)]
    assert lap[1] > 1.5 * lap[0]


def test_composite_changes_only_the_face(frame, face):
    rng = np.random.default_rng(0)
    new_face = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = paste.composite(frame, face.landmarks, new_face, paste.Options(mask="hull_rect"))
    changed = np.abs(out.astype(int) - frame).max(-1) > 0
    hull = blend.hull_mask(frame.shape, face.landmarks) > 0
    assert changed.sum() > 100 ** 2 and not changed[~hull].any()
    seamless = paste.composite(frame, face.landmarks, new_face, paste.Options(seamless=True, colour="lab",
                                                                               mask="hull_rect"))
    assert seamless.shape == frame.shape and not (seamless != frame).any(-1)[~hull].any()
    default = paste.composite(frame, face.landmarks, new_face)  # the default mask: forehead
    assert np.array_equal(default, paste.composite(frame, face.landmarks, new_face, paste.Options(mask="forehead")))
    changed_default = np.abs(default.astype(int) - frame).max(-1) > 0
    grown = blend.forehead_mask(frame.shape, face.landmarks) > 0
    assert not changed_default[~grown].any() and changed_default[~hull].sum() > 20 ** 2  # over the brows too
    with pytest.raises(DeepfakeError, match="unknown colour"):
        paste.Options(colour="sepia")


def test_the_autoencoders_default_conversion_is_histogram_matching_with_sharpening_and_a_gans_is_not(frame, face):
    rng = np.random.default_rng(1)
    new_face = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    autoencoder, gan = paste.Options().for_model(gan=False), paste.Options().for_model(gan=True)
    assert (autoencoder.colour, autoencoder.sharpen, gan.colour, gan.sharpen) == ("hist", 1.0, "avg", 0.0)
    named = paste.Options(colour="lab", sharpen=0)  # what is named is kept, for either model
    assert named.for_model(gan=False) == named.for_model(gan=True) == named
    default = paste.composite(frame, face.landmarks, new_face)
    assert np.array_equal(default, paste.composite(frame, face.landmarks, new_face,
                                                   paste.Options(colour="hist", sharpen=1)))
    assert not np.array_equal(default, paste.composite(frame, face.landmarks, new_face,
                                                       paste.Options(colour="avg", sharpen=0)))
    alpha = np.full((64, 64), 0.8, np.float32)  # a GAN's mask: its own defaults, the average colour, unsharpened
    mixed = paste.composite(frame, face.landmarks, new_face, alpha=alpha)
    classic = paste.Options(colour="avg", sharpen=0)
    assert np.array_equal(mixed, paste.composite(frame, face.landmarks, new_face, classic, alpha=alpha))
    for bad in (-0.5, 50.0):
        with pytest.raises(DeepfakeError, match="--sharpen"):
            paste.Options(sharpen=bad)


def test_one_euro_smoothing_lowers_the_jitter_of_real_landmarks(sample_faces):
    meta = extract.load_alignments(sample_faces / "A")
    track = [faces[0]["landmarks"] if faces else None for faces in meta["frames"].values()]
    smooth = paste.smooth_track(track, meta["fps"])
    assert metrics.jitter(smooth) < metrics.jitter(track) / 2
    assert np.mean([landmark_error(a, b) for a, b in zip(track, smooth, strict=True)]) < 0.05  # stays on the face
    assert paste.smooth_track([track[0], None, track[1]], 25.0)[2] is not None


def test_parse_ranges():
    wanted = swap.parse_ranges("2-4,7,10-")
    assert [i for i in range(1, 13) if wanted(i)] == [2, 3, 4, 7, 10, 11, 12]
    assert swap.parse_ranges(None)(999)
    for bad in ("a-b", "5-2", "0-3"):
        with pytest.raises(DeepfakeError, match="bad frame range"):
            swap.parse_ranges(bad)


def _metadata(path) -> str:
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr


def test_convert_writes_the_source_frame_count_fps_audio_and_the_label(sample_video, tiny_model, tmp_path):
    # a whole video with sound: the sample's first 1.2 s (30 frames), re-encoded (a stream copy cuts at keyframes)
    clip = tmp_path / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(sample_video), "-t", "1.2",
                    "-c:v", "libx264", "-c:a", "aac", str(clip)], check=True)
    out = tmp_path / "swapped.mp4"
    result = swap.convert(clip, tiny_model, out, progress=False)  # faces found as we go, the whole video
    src, got = video.probe(clip), video.probe(out)
    assert src.n_frames == 30 and src.has_audio
    assert (got.n_frames, got.fps, got.size) == (src.n_frames, src.fps, src.size)
    assert got.has_audio and abs(got.duration - src.duration) < 0.1
    assert result.frames == result.swapped == src.n_frames and result.no_face == 0
    assert "SYNTHETIC" in _metadata(out)
    # converted as the autoencoder's default says: histogram matching, sharpened (and the video's tags say so)
    assert (result.options.colour, result.options.sharpen) == ("hist", 1.0) and metrics.sharpened(out) == 1.0
    first_out, first_src = video.read_frames(out, max_frames=1)[0], video.read_frames(clip, max_frames=1)[0]
    corner = first_out[:20, :60].astype(int)
    assert corner.mean() < first_src[:20, :60].mean() - 30  # the dark label box
    assert corner.max() > 200  # with white letters


def test_the_models_own_detail_is_that_of_the_same_faces_converted_unsharpened(sample_video, sample_faces, tiny_model,
                                                                                tmp_path):
    dir_a, gallery = sample_faces / "A", {"B": np.full(128, 0.1)}  # any B: only detail is compared here
    model = checkpoint.load(tiny_model)  # loaded once for the three conversions
    sharp = swap.convert(sample_video, model, tmp_path / "sharp.mp4", alignments=dir_a, max_frames=3,
                         progress=False)
    plain = swap.convert(sample_video, model, tmp_path / "plain.mp4", alignments=dir_a, max_frames=3,
                         options=paste.Options(sharpen=0), progress=False)
    source = metrics.face_track(sample_video, max_frames=3, track=False)  # measured once, as the demo does
    own = swap.unsharpened_detail(sample_video, model, sharp, alignments=dir_a, max_frames=3, source_track=source,
                                  progress=False)
    measured = metrics.evaluate(sample_video, plain.output, gallery, "B", max_frames=3, source_track=source,
                                progress=False)["detail_kept"]
    assert own == pytest.approx(measured, rel=1e-6) and own["eyes_mouth"] > 0  # as evaluate measures it
    lifted = metrics.evaluate(sample_video, sharp.output, gallery, "B", max_frames=3, source_track=source,
                              progress=False)["detail_kept"]
    assert lifted["eyes_mouth"] > own["eyes_mouth"]  # the unsharp mask raises the figure that own leaves out


def test_convert_reuses_alignments_skips_removed_faces_and_honours_ranges(sample_video, sample_faces, tiny_model,
                                                                       tmp_path):
    import shutil

    faces = tmp_path / "A"
    shutil.copytree(sample_faces / "A", faces)
    (faces / "000003_0.png").unlink()  # the user deleted a bad face: that frame is not swapped
    result = swap.convert(sample_video, tiny_model, tmp_path / "a.mp4", alignments=faces, max_frames=12,
                          frames="1-8", options=paste.Options(label=None), progress=False)
    assert (result.frames, result.swapped, result.removed) == (12, 7, 1)
    assert sorted(result.landmarks) == [video.frame_key(i) for i in (1, 2, 4, 5, 6, 7, 8)]
    unlabelled = video.read_frames(tmp_path / "a.mp4", max_frames=12)
    source = video.read_frames(sample_video, max_frames=12)
    assert np.abs(unlabelled[0][:20, :60].astype(int) - source[0][:20, :60]).mean() < 5  # label off: corner as source
    assert np.abs(unlabelled[11].astype(int) - source[11]).mean() < 3  # outside the range: the frame as it was
    assert np.abs(unlabelled[3].astype(int) - source[3]).mean() > np.abs(unlabelled[2].astype(int) - source[2]).mean()


def test_paste_edge_is_the_mask_before_its_feather(frame, face):
    matrix = paste.model_matrix(face.landmarks, 64, 192)
    px = paste.face_size(matrix, 64)
    for kind in ("hull_rect", "forehead", "rect"):
        edge, feather = paste.paste_edge(frame.shape, face.landmarks, paste.Options(mask=kind), 64, 192)
        assert np.array_equal(edge, blend.face_mask(kind, frame.shape, face.landmarks, matrix, 64))
        assert feather == 2 * round(paste.Options().blur * px)  # the soft edge's width: twice the blur
        # the composite is the new face from there on in, and the frame itself outside the edge
        new_face = np.full((64, 64, 3), 255, np.uint8)
        out = paste.composite(frame, face.landmarks, new_face, paste.Options(mask=kind, colour="none"), 192)
        inner = blend.adjust_mask(edge, feather + 1) > 0.5
        assert (out[inner] == 255).all() and (out[edge < 0.5] == frame[edge < 0.5]).all()
    shrunk, _ = paste.paste_edge(frame.shape, face.landmarks, paste.Options(erode=0.05), 64, 192)
    assert shrunk.sum() < paste.paste_edge(frame.shape, face.landmarks, paste.Options(), 64, 192)[0].sum()
    with pytest.raises(DeepfakeError, match="learned"):
        paste.paste_edge(frame.shape, face.landmarks, paste.Options(mask="learned"))


def test_measure_seam_sees_a_paste_that_does_not_match_its_surroundings(sample_video, tiny_model, tmp_path):
    def same(frame, face, matrix):  # the "new" face is the frame itself: nothing to see at the edge
        return frame.copy()

    def brighter(frame, face, matrix):  # the frame 40 grey levels brighter, pasted without colour correction
        return np.clip(frame.astype(int) + 40, 0, 255).astype(np.uint8)

    options = paste.Options(colour="none", label=None)
    seams = {}
    for name, fn in (("same", same), ("brighter", brighter)):
        result = swap.convert(sample_video, tiny_model, tmp_path / f"{name}.mp4", max_frames=4, options=options,
                              paste=fn, progress=False)
        assert (result.options, result.size, result.learned) == (options.for_model(gan=False), 64, False)
        seams[name] = swap.measure_seam(sample_video, result)
    assert 0 <= seams["same"] < metrics.JUST_NOTICEABLE < 4 * metrics.JUST_NOTICEABLE < seams["brighter"]
    corrected = swap.convert(sample_video, tiny_model, tmp_path / "avg.mp4", max_frames=4, paste=brighter,
                             options=paste.Options(label=None), progress=False)  # the default colour: avg
    assert swap.measure_seam(sample_video, corrected) < 0.5 * seams["brighter"]


def test_comparison_video_and_gif(sample_video, tiny_model, tmp_path):
    swap.convert(sample_video, tiny_model, tmp_path / "s.mp4", max_frames=6, progress=False)
    out = swap.write_comparison(sample_video, tmp_path / "s.mp4", tmp_path / "c.mp4", gif_path=tmp_path / "c.gif",
                                progress=False)
    info = video.probe(out)
    assert info.size == (2 * 844, 844) and info.n_frames == 6 and info.has_audio
    from PIL import Image

    with Image.open(tmp_path / "c.gif") as gif:
        assert gif.n_frames == 3 and gif.size[0] == 480


def test_convert_errors_are_clear(sample_video, tmp_path):
    with pytest.raises(DeepfakeError, match="no trained model"):
        swap.convert(sample_video, tmp_path, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
