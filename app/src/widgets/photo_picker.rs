//! Where a lesson's photo comes from: a sample shipped with the page (shareable in a link), or the learner's own
//! file, chosen or dropped, decoded in the page and never uploaded.

use crate::query::Param;
use leptos::prelude::*;

/// A sample photo shipped in `public/images` (licences in `public/images/LICENSES.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Photo {
    /// File name under `/images/`.
    pub file: &'static str,
    /// Name in the picker.
    pub name: &'static str,
}

/// The sample photos.
pub const PHOTOS: &[Photo] = &[
    Photo { file: "camera_small.png", name: "Cameraman (grayscale)" },
    Photo { file: "chelsea_small.png", name: "Chelsea the cat" },
    Photo { file: "astronaut_small.png", name: "Astronaut" },
    Photo { file: "coffee_small.png", name: "Coffee" },
    Photo { file: "rocket_small.png", name: "Rocket" },
];

/// A lesson's `photo` parameter, starting on `default`: a sample, by file name.
pub const fn photo_param(default: Photo) -> Param<Photo> {
    Param::choices("photo", default, PHOTOS, photo_file)
}

/// A sample's name in URLs: its file.
fn photo_file(photo: Photo) -> &'static str {
    photo.file
}

/// Where the image comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PhotoSource {
    /// A sample, by file name.
    Sample(&'static str),
    /// The learner's own file, as a `blob:` URL of the page, with its name.
    Own {
        /// The object URL.
        url: String,
        /// The file's name.
        name: String,
    },
}

/// The sizes the samples are shipped at (longest side, in pixels): each at 256 in `public/images` and at 128 in
/// `public/images/128`, so that no lesson resamples a sample in the page and its PyTorch code opens the very
/// pixels it computed on.
pub const SAMPLE_SIDES: [u32; 2] = [256, 128];

impl PhotoSource {
    /// The URL to load, for a lesson that works at `side` pixels (one of [`SAMPLE_SIDES`]).
    pub fn url(&self, side: u32) -> String {
        match self {
            PhotoSource::Sample(_) => format!("images/{}", self.file_name(side)),
            PhotoSource::Own { url, .. } => url.clone(),
        }
    }

    /// The file, as PyTorch code opens it from a folder holding `public/images`' files, at `side` pixels.
    pub fn file_name(&self, side: u32) -> String {
        match self {
            PhotoSource::Sample(file) if side == SAMPLE_SIDES[0] => file.to_string(),
            PhotoSource::Sample(file) => format!("{side}/{file}"),
            PhotoSource::Own { name, .. } => name.clone(),
        }
    }
}

/// The photo picker's state: the sample a link names (`photo`, a URL parameter), the source in use, which is
/// the learner's own file once they pick or drop one that opens as an image, and what the picker says about it.
#[derive(Clone, Copy)]
pub struct PhotoChoice {
    /// The sample the URL names (kept when the learner uses their own file: a link cannot carry it).
    pub sample: RwSignal<Photo>,
    /// What the lesson loads.
    pub source: RwSignal<PhotoSource, LocalStorage>,
    /// The longest side the lesson works at: a larger image of the learner's is scaled down, with a notice.
    pub max_side: u32,
    /// What the picker says about the learner's last file: it was scaled down, or it was not used and why.
    pub message: RwSignal<Option<String>>,
}

impl PhotoChoice {
    /// Starts on the sample `sample`, for a lesson that works at up to `max_side` pixels on a side.
    pub fn new(sample: RwSignal<Photo>, max_side: u32) -> PhotoChoice {
        let source = RwSignal::new_local(PhotoSource::Sample(sample.get_untracked().file));
        PhotoChoice { sample, source, max_side, message: RwSignal::new(None) }
    }

    /// Uses the learner's own file once it opens as an image (the previous one's URL is then released); a file
    /// that does not (not an image, empty, corrupt) is refused with the reason, and the photo in use stays.
    pub fn own(&self, file: web_sys::File) {
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&file) else { return };
        let (choice, name) = (*self, file.name());
        // Decoding takes a while for a large file: the learner may have left the page meanwhile (hence `try_`).
        wasm_bindgen_futures::spawn_local(async move {
            match crate::image::image_size(&url).await {
                Err(why) => {
                    let _ = web_sys::Url::revoke_object_url(&url);
                    choice.message.try_set(Some(format!("“{name}” was not used: {why} The photo before it is still in use.")));
                }
                Ok((w, h)) => {
                    if let Some(PhotoSource::Own { url: old, .. }) = choice.source.try_get_untracked() {
                        let _ = web_sys::Url::revoke_object_url(&old);
                    }
                    choice.message.try_set(crate::image::fit(w, h, choice.max_side).ok().filter(|f| f.scaled).map(|f| {
                        format!(
                            "Your image is {w} x {h} pixels; this lesson works at up to {} pixels on a side, so it is scaled down to {} x {}.",
                            choice.max_side, f.width, f.height
                        )
                    }));
                    choice.source.try_set(PhotoSource::Own { url, name });
                }
            }
        });
    }

    /// Uses a file dropped on a drop target.
    pub fn dropped(&self, ev: web_sys::DragEvent) {
        ev.prevent_default();
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            self.own(file);
        }
    }
}

/// A drop-down of the samples and a button to open one's own image. `own_files` offers the latter (a lesson
/// whose code panel must name a shipped file leaves it out).
#[component]
pub fn PhotoPicker(
    /// The state it edits.
    choice: PhotoChoice,
    /// Whether the learner may use their own image.
    #[prop(default = true)]
    own_files: bool,
) -> impl IntoView {
    let on_file = move |ev: web_sys::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
        if let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) {
            choice.own(file);
        }
    };
    view! {
        <label>
            "Photo "
            <select
                data-testid="photo-select"
                on:change=move |ev| {
                    let file = event_target_value(&ev);
                    if let Some(p) = PHOTOS.iter().find(|p| p.file == file) {
                        choice.message.set(None);
                        choice.sample.set(*p);
                        choice.source.set(PhotoSource::Sample(p.file));
                    }
                }
            >
                {PHOTOS
                    .iter()
                    .map(|p| {
                        let chosen = move || choice.source.with(|s| s == &PhotoSource::Sample(p.file));
                        view! { <option value=p.file selected=chosen>{p.name}</option> }
                    })
                    .collect_view()}
                {move || choice.source.with(|s| match s {
                    PhotoSource::Own { name, .. } => Some(view! { <option value="" selected=true>{format!("Your image: {name}")}</option> }),
                    PhotoSource::Sample(_) => None,
                })}
            </select>
        </label>
        {own_files.then(|| view! {
            <label class="file">
                "Or your own image "
                <input type="file" accept="image/*" data-testid="image-file" on:change=on_file/>
            </label>
        })}
        {move || choice.message.get().map(|m| view! { <p class="notice" role="status" data-testid="photo-notice">{m}</p> })}
    }
}
