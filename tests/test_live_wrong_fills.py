"""Wrong fills of the live twins' blanks get a specific hint from the check right after the blank.

For each case the live twin runs (fast mode) with that one blank filled with a student's typical
mistake and every other blank filled from the lecture, up to the cell holding the blank's check.
The check line must start with the hint below, and nothing may fail before that line: an error
in the blank's own cell (the wrong code at work) must come after the check's line in that cell.

Together with the empty fill of tests/test_live_lectures.py (a blank left as ``pass``: "is missing")
these are at least three wrong fills per lecture. Where a value depends on the data (fast mode, or
the synthetic stand-in of lecture 07), the hint is compared up to the number.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from course_tools import live
from course_tools.live.recording import check_lines, run_filled_twin

pytest.importorskip("nbclient")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("course_data")]   # runs lectures' twins

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "course_utils" / "live" / "data"


class Fill(NamedTuple):
    lecture: str
    blank: int
    mistake: str    # what the student got wrong, in words (the test's id)
    code: str       # what the student wrote into the blank
    hint: str       # how the check line right after the blank starts


WRONG_FILLS = [
    Fill('01-ethics', 1, 'a percentage instead of a share',
         'weights = table["total"] / table["total"].sum()\noverall_from_classes = 100 * (weights * table["accuracy"]).sum()',
         '✗ blank 1 of 01-ethics: `overall_from_classes` is '),
    Fill('01-ethics', 2, 'a missing name (correct)',
         'accuracy_few_shirts = (evaluation.predictions == evaluation.labels)[keep].float().mean().item()',
         '✗ blank 2 of 01-ethics: `correct` is missing: the blank above should set `correct`.'),
    Fill('01-ethics', 2, 'a count instead of a share',
         'correct = evaluation.predictions == evaluation.labels\naccuracy_few_shirts = correct[keep].sum().item()',
         '✗ blank 2 of 01-ethics: `accuracy_few_shirts` is '),
    Fill('02-looking-at-data', 1, 'the accuracy not stored in always[name]',
         'guess = torch.full_like(test.labels, c)\naccuracy = cu.accuracy(guess, test.labels)',
         "✗ blank 1 of 02-looking-at-data: `always` has no key 'airplane', "),
    Fill('02-looking-at-data', 2, 'a wrong shape (all channels in one histogram)',
         'histogram = torch.bincount(train.images.flatten(), minlength=256)',
         "✗ blank 2 of 02-looking-at-data: `histogram` has shape (256,); the lecture's has shape (3, 256)."),
    Fill('02-looking-at-data', 3, 'forgot / 255',
         'mean_images = torch.stack([train.images[train.labels == c].float().mean(dim=0) for c in range(10)])',
         '✗ blank 3 of 02-looking-at-data: `mean_images` has values from '),
    Fill('02-looking-at-data', 4, 'the distances instead of the nearest class',
         'nearest_mean = torch.cdist(validation_pixels, class_means)',
         "✗ blank 4 of 02-looking-at-data: `nearest_mean` has "),
    Fill('02-looking-at-data', 5, 'one number instead of one per channel',
         'channel_mean = x.mean()\nchannel_std = x.std()',
         "✗ blank 5 of 02-looking-at-data: `channel_mean` is a number; the lecture's is a torch tensor."),
    Fill('02-looking-at-data', 6, 'forgot / 255 before normalising',
         'normalized = (batch.float() - mean) / std',
         '✗ blank 6 of 02-looking-at-data: `normalized` has values of typical size '),
    Fill('03-logistic-regression', 1, 'a model with 25 outputs',
         'class LogisticRegression(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.flatten = nn.Flatten()\n        self.linear = nn.Linear(3072, 25)\n\n    def forward(self, x):\n        return self.linear(self.flatten(x))',
         "✗ blank 1 of 03-logistic-regression: `LogisticRegression()` has 25 outputs; the lecture's has 10."),
    Fill('03-logistic-regression', 1, 'the linear layer called self.fc, not self.linear',
         'class LogisticRegression(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.flatten = nn.Flatten()\n        self.fc = nn.Linear(3072, 10)\n\n    def forward(self, x):\n        return self.fc(self.flatten(x))',
         "✗ blank 1 of 03-logistic-regression: `LogisticRegression` has no attribute `linear`; later cells read `model.linear.weight`."),
    Fill('03-logistic-regression', 2, 'softmax without dividing by the sum',
         'p = exp_s',
         "✗ blank 2 of 03-logistic-regression: `p` has values from 0.3679 to 7.389; the lecture's lie between 0 and 1."),
    Fill('03-logistic-regression', 3, 'cross-entropy without the minus sign',
         'by_hand = torch.log(p[true_class])',
         "✗ blank 3 of 03-logistic-regression: `by_hand` is -3.349; the lecture's is not negative (3.349)."),
    Fill('03-logistic-regression', 5, 'counting batches instead of images',
         'scores = model(X)\npredictions = scores.argmax(dim=1)\ncorrect += (predictions == y).sum().item()\ntotal += 1',
         "✗ blank 5 of 03-logistic-regression: `train_accuracy` is "),
    Fill('04-hidden-layer', 1, 'the merged weight transposed',
         'W = (second.weight @ first.weight).T\nb = second.weight @ first.bias + second.bias',
         "✗ blank 1 of 04-hidden-layer: `W` has shape (3072, 10); the lecture's has shape (10, 3072)."),
    Fill('04-hidden-layer', 1, 'a missing name (b)',
         'W = second.weight @ first.weight',
         '✗ blank 1 of 04-hidden-layer: `b` is missing: the blank above should set `b`.'),
    Fill('04-hidden-layer', 2, 'a model with 50 hidden units',
         'class MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.flatten = nn.Flatten()\n        self.hidden = nn.Linear(3072, 50)\n        self.output = nn.Linear(50, 10)\n\n    def forward(self, x):\n        return self.output(torch.relu(self.hidden(self.flatten(x))))',
         "✗ blank 2 of 04-hidden-layer: `MLP()` has 154,160 parameters; the lecture's has 308,310"),
    Fill('04-hidden-layer', 2, 'the hidden layer called self.fc1, not self.hidden',
         'class MLP(nn.Module):\n    def __init__(self, num_hidden=100):\n        super().__init__()\n        self.flatten = nn.Flatten()\n        self.fc1 = nn.Linear(3072, num_hidden)\n        self.output = nn.Linear(num_hidden, 10)\n\n    def forward(self, x):\n        return self.output(torch.relu(self.fc1(self.flatten(x))))',
         "✗ blank 2 of 04-hidden-layer: `MLP` has no attribute `hidden`; later cells read `mlp.hidden`."),
    Fill('05-convolution', 1, 'the window added up without multiplying by K',
         'window = X[i:i + kh, j:j + kw]\nY[i, j] = window.sum()',
         "✗ blank 1 of 05-convolution: `Y` gives [[ 8., 12.], [20., 24.]]; the lecture's gives [[19., 25.], [37., 43.]]."),
    Fill('05-convolution', 3, 'the minimum instead of the maximum',
         'for i in range(out_h):\n    for j in range(out_w):\n        P[i, j] = A[i * size:(i + 1) * size, j * size:(j + 1) * size].min()',
         "✗ blank 3 of 05-convolution: `max_pool(A)` gives [[1., 1.], [2., 0.]]; the lecture's gives [[6., 4.], [7., 9.]]."),
    Fill('05-convolution', 2, 'padding counted once',
         'def output_side(n, k, p, s):\n    return (n + p - k) // s + 1',
         '✗ blank 2 of 05-convolution: `output_side(32, 5, 2, 1)` '),
    Fill('05-convolution', 2, '/ instead of //',
         'def output_side(n, k, p, s):\n    return (n + 2 * p - k) / s + 1',
         "✗ blank 2 of 05-convolution: `output_side(32, 3, 1, 2)` is 16.5; the lecture's is a whole number."),
    Fill('05-convolution', 4, 'a different network',
         'class ConvNet(nn.Module):\n    def __init__(self, num_classes=10):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 20, kernel_size=5)\n        self.fc = nn.Linear(20 * 14 * 14, num_classes)\n\n    def forward(self, x):\n        return self.fc(torch.flatten(F.max_pool2d(F.relu(self.conv(x)), 2), 1))\n\n\nmodel = ConvNet().to(device)',
         "✗ blank 4 of 05-convolution: `ConvNet()` has 40,730 parameters; the lecture's has 71,800"),
    Fill('05-convolution', 4, 'its own layer names (later cells read model.conv1 ... model.pool)',
         'class ConvNet(nn.Module):\n    def __init__(self, num_classes=10):\n        super().__init__()\n        self.c1 = nn.Conv2d(3, 100, kernel_size=5)\n        self.c2 = nn.Conv2d(100, 50, kernel_size=3)\n        self.c3 = nn.Conv2d(50, 20, kernel_size=3)\n        self.mp = nn.MaxPool2d(2)\n        self.fc1 = nn.Linear(20 * 2 * 2, 80)\n        self.fc2 = nn.Linear(80, 40)\n        self.fc3 = nn.Linear(40, num_classes)\n\n    def forward(self, x):\n        x = self.mp(F.relu(self.c1(x)))\n        x = self.mp(F.relu(self.c2(x)))\n        x = self.mp(F.relu(self.c3(x)))\n        x = torch.flatten(x, start_dim=1)\n        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n\n\nmodel = ConvNet().to(device)',
         '✗ blank 4 of 05-convolution: `model` has no attribute `conv1`; later cells read `getattr(model, "conv1")`.'),
    Fill('05-convolution', 4, 'a first Linear layer for the wrong flattened size',
         'class ConvNet(nn.Module):\n    def __init__(self, num_classes=10):\n        super().__init__()\n        self.conv1 = nn.Conv2d(3, 100, kernel_size=5)\n        self.conv2 = nn.Conv2d(100, 50, kernel_size=3)\n        self.conv3 = nn.Conv2d(50, 20, kernel_size=3)\n        self.pool = nn.MaxPool2d(2)\n        self.fc1 = nn.Linear(20 * 4 * 4, 80)\n        self.fc2 = nn.Linear(80, 40)\n        self.fc3 = nn.Linear(40, num_classes)\n\n    def forward(self, x):\n        x = self.pool(F.relu(self.conv1(x)))\n        x = self.pool(F.relu(self.conv2(x)))\n        x = self.pool(F.relu(self.conv3(x)))\n        x = torch.flatten(x, start_dim=1)\n        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n\n\nmodel = ConvNet().to(device)',
         "✗ blank 4 of 05-convolution: `ConvNet()` cannot take a batch of shape (2, 3, 32, 32): your first Linear layer `fc1` (Linear(320 → 80)) expects 320 numbers per image, but it gets 80: the flattened output of `pool` (20 channels × 2 × 2 = 80). Make it nn.Linear(80, 80), or change the layers before it."),
    Fill('06-activations-and-features', 1, 'a hook with the wrong arguments',
         'def report_shape(module, output):\n    print(f"  hook called by {type(module).__name__}: output shape {tuple(output.shape)}")\n\n\nhandle = model.conv1.register_forward_hook(report_shape)',
         "✗ blank 1 of 06-activations-and-features: `report_shape` takes 2 argument(s) (module, output); the lecture's takes 3 (module, inputs, output)."),
    Fill('06-activations-and-features', 1, "the hook's handle not kept",
         'def report_shape(module, inputs, output):\n    print(f"  hook called by {type(module).__name__}: output shape {tuple(output.shape)}")\n\n\nmodel.conv1.register_forward_hook(report_shape)',
         '✗ blank 1 of 06-activations-and-features: `handle` is missing: the blank above should keep what `model.conv1.register_forward_hook(...)` returns as `handle`.'),
    Fill('06-activations-and-features', 2, 'only conv1 recorded',
         'with torch.no_grad(), cu.capture_activations(model, ["conv1"]) as acts:\n    scores = model(x)',
         "✗ blank 2 of 06-activations-and-features: `acts` has no key 'conv2', 'conv3'; the lecture's has 'conv1', 'conv2', 'conv3'."),
    Fill('06-activations-and-features', 3, 'counting the channels that fire',
         'def count_silent(activation):\n    return int((activation > 0).any(dim=(0, 2, 3)).sum())',
         "✗ blank 3 of 06-activations-and-features: `count_silent(torch.tensor([[[[1.0]], [[-1.0]], [[0.0]]]]))` gives 1; the lecture's gives 2."),
    Fill('07-sign-language-case-study', 1, 'cross-entropy without the minus sign',
         'probs = scores.exp() / scores.exp().sum(dim=1, keepdim=True)\nloss_by_hand = probs[torch.arange(2), labels].log()',
         "✗ blank 1 of 07-sign-language-case-study: `loss_by_hand` has negative values (down to -2.652); the lecture's has none."),
    Fill('07-sign-language-case-study', 2, 'a head with 25 outputs',
         'class LinearClassifier(nn.Module):\n    def __init__(self, num_classes=24):\n        super().__init__()\n        self.flatten = nn.Flatten()\n        self.linear = nn.Linear(28 * 28, 25)\n\n    def forward(self, x):\n        return self.linear(self.flatten(x))\n\n\ncu.seed_everything(0)\nlinear_model = LinearClassifier(num_classes=num_classes).to(device)',
         "✗ blank 2 of 07-sign-language-case-study: `LinearClassifier()` has 25 outputs; the lecture's has 24."),
    Fill('07-sign-language-case-study', 3, 'a head with 26 outputs',
         'class SignConvNet(nn.Module):\n    def __init__(self, num_classes=24):\n        super().__init__()\n        self.conv1 = nn.Conv2d(1, 100, kernel_size=5)\n        self.conv2 = nn.Conv2d(100, 50, kernel_size=3)\n        self.conv3 = nn.Conv2d(50, 50, kernel_size=3)\n        self.pool = nn.MaxPool2d(2)\n        self.fc = nn.Linear(50, 26)\n\n    def forward(self, x):\n        x = self.pool(F.relu(self.conv1(x)))\n        x = self.pool(F.relu(self.conv2(x)))\n        x = self.pool(F.relu(self.conv3(x)))\n        return self.fc(torch.flatten(x, start_dim=1))\n\n\ncu.seed_everything(0)\nconv_model = SignConvNet(num_classes=num_classes).to(device)',
         "✗ blank 3 of 07-sign-language-case-study: `SignConvNet()` has 26 outputs; the lecture's has 24."),
    Fill('07-sign-language-case-study', 5, 'the share of the same letter instead of one answer per test image',
         'same_letter = (train_part.labels[test_nearest] == test24.labels).float().mean()',
         "✗ blank 5 of 07-sign-language-case-study: `same_letter` is "),
    Fill('07-sign-language-case-study', 3, 'no num_classes argument (24 hard-coded)',
         'class SignConvNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv1 = nn.Conv2d(1, 100, kernel_size=5)\n        self.conv2 = nn.Conv2d(100, 50, kernel_size=3)\n        self.conv3 = nn.Conv2d(50, 50, kernel_size=3)\n        self.pool = nn.MaxPool2d(2)\n        self.fc = nn.Linear(50, 24)\n\n    def forward(self, x):\n        x = self.pool(F.relu(self.conv1(x)))\n        x = self.pool(F.relu(self.conv2(x)))\n        x = self.pool(F.relu(self.conv3(x)))\n        return self.fc(torch.flatten(x, start_dim=1))\n\n\ncu.seed_everything(0)\nconv_model = SignConvNet().to(device)',
         "✗ blank 3 of 07-sign-language-case-study: `SignConvNet` takes no argument `num_classes`; later cells call `SignConvNet(num_classes=26)`."),
    Fill('07-sign-language-case-study', 3, 'the head called self.out, not self.fc',
         'class SignConvNet(nn.Module):\n    def __init__(self, num_classes=24):\n        super().__init__()\n        self.conv1 = nn.Conv2d(1, 100, kernel_size=5)\n        self.conv2 = nn.Conv2d(100, 50, kernel_size=3)\n        self.conv3 = nn.Conv2d(50, 50, kernel_size=3)\n        self.pool = nn.MaxPool2d(2)\n        self.out = nn.Linear(50, num_classes)\n\n    def forward(self, x):\n        x = self.pool(F.relu(self.conv1(x)))\n        x = self.pool(F.relu(self.conv2(x)))\n        x = self.pool(F.relu(self.conv3(x)))\n        return self.out(torch.flatten(x, start_dim=1))\n\n\ncu.seed_everything(0)\nconv_model = SignConvNet(num_classes=num_classes).to(device)',
         "✗ blank 3 of 07-sign-language-case-study: `SignConvNet` has no attribute `fc`; later cells read `model26.fc.in_features`."),
    Fill('08-training-a-convnet-well', 1, 'divided by the variance, not the standard deviation',
         'mean = x.mean(dim=(0, 2, 3), keepdim=True)\nvariance = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)\nby_hand = (x - mean) / (variance + batch_norm.eps)',
         '✗ blank 1 of 08-training-a-convnet-well: `by_hand.std(dim=(0, 2, 3), unbiased=False)` gives [0.2004, 0.2079]; the lecture\'s gives [1., 1.].'),
    Fill('09-reusing-a-trained-network', 1, 'saved and rebuilt, but the weights never loaded',
         'torch.save(pretrained.state_dict(), MODELS / "09-animals-weights.pt")\nreloaded = SmallResNet(width=16, num_classes=len(ANIMALS)).to(device)',
         "✗ blank 1 of 09-reusing-a-trained-network: `torch.equal(reloaded.head.weight, pretrained.head.weight)` gives False; the lecture's gives True."),
    Fill('09-reusing-a-trained-network', 2, 'not normalised (pixels 0-255 as floats)',
         'def prepare(image, mean, std, size=32):\n    side = min(image.size)\n    left, top = (image.width - side) // 2, (image.height - side) // 2\n    square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)\n    pixels = torch.from_numpy(np.asarray(square).copy()).permute(2, 0, 1)\n    return pixels.float().unsqueeze(0)\n\n\nphoto_input = prepare(photo, info.mean, info.std)',
         "✗ blank 2 of 09-reusing-a-trained-network: `photo_input` has values of typical size "),
    Fill('09-reusing-a-trained-network', 3, 'the six-class head kept',
         'def new_head(num_classes=4):\n    model = cu.load_model(ANIMALS_FILE, SmallResNet(width=16, num_classes=len(ANIMALS)))\n    return model.to(device)\n\n\nexample = new_head()',
         "✗ blank 3 of 09-reusing-a-trained-network: `example` has 6 outputs; the lecture's has 4."),
    Fill('09-reusing-a-trained-network', 2, 'squashed to a square instead of cropped',
         'def prepare(image, mean, std, size=32):\n    square = image.resize((size, size), Image.BICUBIC)\n    pixels = torch.from_numpy(np.asarray(square).copy()).permute(2, 0, 1)\n    return cu.normalize(pixels, mean, std).unsqueeze(0)\n\n\nphoto_input = prepare(photo, info.mean, info.std)',
         "✗ blank 2 of 09-reusing-a-trained-network: `prepare(ImageOps.expand(Image.new('RGB', (32, 32), 'white'), border=(16, 0), fill='red'), info.mean, info.std)` has negative values"),
    Fill('09-reusing-a-trained-network', 3, 'a new head on an untrained network (the file never loaded)',
         'def new_head(num_classes=4):\n    model = SmallResNet(width=16, num_classes=len(ANIMALS))\n    model.head = nn.Linear(model.head.in_features, num_classes)\n    return model.to(device)\n\n\nexample = new_head()',
         "✗ blank 3 of 09-reusing-a-trained-network: `torch.equal(example.body[0].weight, pretrained.body[0].weight)` gives False; the lecture's gives True."),
    Fill('08-training-a-convnet-well', 4, 'the smoothed loss without the minus sign',
         'target = torch.full((1, K), epsilon / K)\ntarget[0, label] += 1 - epsilon\nsmoothed_loss = (target * F.log_softmax(scores, dim=1)).sum()',
         '✗ blank 4 of 08-training-a-convnet-well: `smoothed_loss` is -0.3429; the lecture\'s lies between 0 and 1.'),
    Fill('08-training-a-convnet-well', 3, 'padded with zeros, not reflected',
         'def crop_and_flip(images, top, left, flip, padding=4):\n    height, width = images.shape[-2:]\n    padded = F.pad(images, (padding, padding, padding, padding))\n    windows = [padded[i, :, top[i]:top[i] + height, left[i]:left[i] + width] for i in range(len(images))]\n    cropped = torch.stack(windows)\n    return torch.where(flip[:, None, None, None], cropped.flip(dims=[3]), cropped)',
         '✗ blank 3 of 08-training-a-convnet-well: `crop_and_flip(probe, probe_top, probe_left, probe_flip, padding=1)` '),
    Fill('08-training-a-convnet-well', 3, 'rows and columns swapped (top used for the columns)',
         'def crop_and_flip(images, top, left, flip, padding=4):\n    height, width = images.shape[-2:]\n    padded = F.pad(images, (padding, padding, padding, padding), mode="reflect")\n    windows = [padded[i, :, left[i]:left[i] + height, top[i]:top[i] + width] for i in range(len(images))]\n    cropped = torch.stack(windows)\n    return torch.where(flip[:, None, None, None], cropped.flip(dims=[3]), cropped)',
         '✗ blank 3 of 08-training-a-convnet-well: `crop_and_flip(probe, probe_top, probe_left, probe_flip, padding=1)` '),
    Fill('08-training-a-convnet-well', 3, 'every image flipped, not only where flip is True',
         'def crop_and_flip(images, top, left, flip, padding=4):\n    height, width = images.shape[-2:]\n    padded = F.pad(images, (padding, padding, padding, padding), mode="reflect")\n    windows = [padded[i, :, top[i]:top[i] + height, left[i]:left[i] + width] for i in range(len(images))]\n    return torch.stack(windows).flip(dims=[3])',
         '✗ blank 3 of 08-training-a-convnet-well: `crop_and_flip(probe, probe_top, probe_left, probe_flip, padding=1)` '),
]


def test_every_lecture_has_at_least_two_wrong_fills_besides_the_empty_one():
    lectures = sorted(path.stem for path in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    counts = {lecture: sum(fill.lecture == lecture for fill in WRONG_FILLS) for lecture in lectures}
    assert all(count >= 2 for count in counts.values()), counts


def outputs_in_order(executed, marker: str) -> list[str]:
    """The check line (marked by ``marker``) and the errors of every cell, in order: "check" and "error" entries."""
    kinds = []
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            if marker in output.get("text", ""):
                kinds.append("check")
            elif output.get("output_type") == "error":
                kinds.append("error")
    return kinds


def runs() -> list[tuple[Fill, ...]]:
    """The twin runs to make: one per fill, except that a lecture's ``TOGETHER`` blanks share runs.

    Lecture 08's blanks come after minutes of (fast-mode) training, so its fills, which break
    nothing after their checks, share one run (the k-th fill of every blank in the k-th run).
    """
    single = [(fill,) for fill in WRONG_FILLS if fill.lecture not in TOGETHER]
    shared = []
    for lecture in TOGETHER:
        fills = [fill for fill in WRONG_FILLS if fill.lecture == lecture]
        by_blank: dict[int, list[Fill]] = {}
        for fill in fills:
            by_blank.setdefault(fill.blank, []).append(fill)
        for k in range(max(len(group) for group in by_blank.values())):
            shared.append(tuple(group[k] for group in by_blank.values() if k < len(group)))
    return single + shared


TOGETHER = ("08-training-a-convnet-well", "09-reusing-a-trained-network")


@pytest.mark.parametrize("run", runs(), ids=lambda run: " + ".join(f"{f.lecture[:2]}-blank{f.blank}-{f.mistake}"
                                                                  for f in run))
def test_a_wrong_fill_gets_its_hint_before_anything_fails(run: tuple[Fill, ...]):
    lecture = run[0].lecture
    config = live.read_colab_config(REPO / "pyproject.toml")
    executed, _ = run_filled_twin(REPO / "notebooks" / f"{lecture}.ipynb", config, "notebooks", data=DATA,
                                  strict=False, replacements={fill.blank: fill.code for fill in run},
                                  until_blank=max(fill.blank for fill in run))
    for fill in run:
        marker = f"blank {fill.blank} of {fill.lecture}:"
        lines = [line for line in check_lines(executed) if marker in line]
        assert len(lines) == 1, f"expected one check line for blank {fill.blank}, got {lines}"
        assert lines[0].startswith(fill.hint), lines[0]
        kinds = outputs_in_order(executed, marker)
        assert "error" not in kinds[:kinds.index("check")], f"something failed before the check: {kinds}"
