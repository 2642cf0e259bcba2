//! `#[plugin_trait]`: the vtable, shims, descriptor and proxy of a trait.

use crate::private::Private;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ItemTrait;
use syn::spanned::Spanned;

use crate::ast::{Method, PluginTrait};
use crate::span::respan;
use crate::types::{self, ArgKind, RetKind};
use crate::{attr, fallback};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: ItemTrait = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &input,
                "`#[plugin_trait]` goes on a trait declaration: `#[plugin_trait] pub trait Greeter { ... }`",
            );
            return fallback::emit(input, error);
        }
    };
    if let Err(error) = attr::no_args(args, "#[plugin_trait]") {
        return fallback::emit(item, error);
    }
    match PluginTrait::parse(&item) {
        Ok(model) => generate(&model),
        Err(error) => fallback::emit(&item, error),
    }
}

fn generate(model: &PluginTrait<'_>) -> TokenStream {
    let private = Private;
    let item = model.item;
    let vis = &item.vis;
    let ident = model.ident();
    let vtable = model.vtable();
    let proxy = model.proxy();
    let name = ident.to_string();
    let method_count = model.methods.len() as u32;
    let (send_flag, sync_flag) = (model.send.is_some(), model.sync.is_some());

    // Everything generated per method is spanned at the method's first
    // type of the user's own (see `Method::blame`): if that type cannot
    // cross, every use of it reports the same error at the same place,
    // which the compiler shows once.
    let per_method = |f: &dyn Fn(&Method<'_>) -> TokenStream| {
        model
            .methods
            .iter()
            .map(|m| respan(f(m), m.blame()))
            .collect::<Vec<_>>()
    };
    let fields = per_method(&|m| vtable_field(m));
    let shims = per_method(&|m| shim(m, ident));
    let absent_stubs = per_method(&|m| absent_stub(m));
    let absent_slots = per_method(&|m| {
        let method = m.ident;
        let stub = format_ident!("__absent_{}", m.ident);
        quote!(#method: #vtable::#stub)
    });
    let slots = per_method(&|m| {
        let method = m.ident;
        let shim = shim_ident(m);
        quote!(#method: #vtable::#shim::<__T>)
    });
    let descriptors = model.methods.iter().map(|m| method_descriptor(m));
    let dispatch_arms = model
        .methods
        .iter()
        .enumerate()
        .map(|(index, m)| respan(dispatch_arm(m, index, ident), m.blame()));
    let try_methods = model
        .methods
        .iter()
        .enumerate()
        .map(|(slot, m)| respan(try_method(m, slot, ident), m.blame()));
    let defaults = model.methods.iter().filter_map(default_method);
    let trait_methods = model
        .methods
        .iter()
        .enumerate()
        .map(|(slot, m)| respan(trait_method(m, slot), m.blame()));
    let remote_methods = model
        .methods
        .iter()
        .enumerate()
        .map(|(index, m)| respan(remote_method(m, index), m.blame()));

    let send = model.send.map(|bound| {
        let check = quote_spanned!(bound.span()=> plugin_traits_must_be_send::<dyn #ident>);
        quote! {
            // `Send` must be the real marker trait, whatever it is named;
            // the check is named for the error it gives.
            const _: fn() = {
                fn plugin_traits_must_be_send<T: ?::core::marker::Sized + ::core::marker::Send>() {}
                #check
            };
            // SAFETY: `#ident: Send`, so every instance behind the proxy is
            // `Send`, and the library handle it holds may move between threads.
            unsafe impl ::core::marker::Send for #proxy {}
        }
    });
    let sync = model.sync.map(|bound| {
        let check = quote_spanned!(bound.span()=> plugin_traits_must_be_sync::<dyn #ident>);
        quote! {
            // `Sync` must be the real marker trait, whatever it is named;
            // the check is named for the error it gives.
            const _: fn() = {
                fn plugin_traits_must_be_sync<T: ?::core::marker::Sized + ::core::marker::Sync>() {}
                #check
            };
            // SAFETY: `#ident: Sync`, so `&self` methods may run on the
            // instance from several threads at once.
            unsafe impl ::core::marker::Sync for #proxy {}
        }
    });
    // Clones share one instance: only for `&self` methods, and only when
    // sharing it across threads is allowed (`Sync`) or cannot happen (not
    // `Send`).
    let shareable = model.methods.iter().all(|m| !m.mutable) && (sync_flag || !send_flag);
    let clone = shareable.then(|| {
        quote! {
            impl ::core::clone::Clone for #proxy {
                /// Another proxy of the same instance.
                fn clone(&self) -> Self {
                    Self { raw: ::core::clone::Clone::clone(&self.raw) }
                }
            }
        }
    });
    let forwards = model.methods.iter().map(|m| {
        let method = m.ident;
        let receiver = m.receiver();
        let params = &m.args;
        let names = m.args.iter().map(|arg| &arg.ident);
        let output = &m.item.sig.output;
        let object = if m.mutable {
            quote!(self.get_mut())
        } else {
            quote!(self.get())
        };
        respan(
            quote! {
                fn #method(#receiver, #(#params),*) #output {
                    #object.#method(#(#names),*)
                }
            },
            m.blame(),
        )
    });
    // A host's manager keeps plugins of a trait it links resident, and
    // offers them as services, when their proxies may cross threads.
    let known = (send_flag && sync_flag).then(|| {
        quote! {
            #private::inventory::submit! {
                #private::KnownInterface::of::<dyn #ident>()
            }
        }
    });
    let dyn_name = format!("dyn {name}");
    let box_name = format!("a `Box<dyn {name}>` object");
    let borrow_checks = model
        .methods
        .iter()
        .flat_map(|m| &m.args)
        .filter_map(|arg| match &arg.kind {
            ArgKind::Ref(ty) | ArgKind::Slice(ty) => {
                let native = types::native(ty);
                Some(crate::span::respan_all(
                    quote!(const _: () = ::core::assert!(
                        !#native.contains_object(),
                        "an object (`Box<dyn Trait>`, `Arc<dyn Trait>`) cannot be borrowed across the plugin boundary as `&T` or `&[T]`: pass it by value, or lend it as `&dyn Trait`"
                    );),
                    ty.span(),
                ))
            }
            _ => None,
        });
    let objects = quote! {
        // Objects of the trait that one side lends or hands to the other
        // are called through this forwarding implementation.
        impl #ident for #private::HostObject<dyn #ident> {
            #(#forwards)*
        }

        // SAFETY: each conversion returns the proxy itself, unsized.
        unsafe impl #private::ObjectInterface for dyn #ident {
            const OBJECT: &'static #private::TypeLayout = &#private::object_layout(#dyn_name);

            fn boxed(proxy: #proxy) -> #private::Box<dyn #ident> {
                #private::Box::new(proxy)
            }

            fn shared(proxy: #proxy) -> #private::Arc<dyn #ident> {
                #private::Arc::new(proxy)
            }

            fn lent(proxy: &#proxy) -> &(dyn #ident + 'static) {
                proxy
            }

            fn lent_mut(proxy: &mut #proxy) -> &mut (dyn #ident + 'static) {
                proxy
            }

            fn stand_in(remote: #private::Remote<dyn #ident>) -> #private::Box<dyn #ident> {
                #private::Box::new(remote)
            }

            fn remote_ref(remote: &#private::Remote<dyn #ident>) -> &(dyn #ident + 'static) {
                remote
            }

            fn remote_mut(remote: &mut #private::Remote<dyn #ident>) -> &mut (dyn #ident + 'static) {
                remote
            }

            fn proxy_of<'__a>(object: &'__a (dyn #ident + 'static)) -> ::core::option::Option<&'__a #private::RawProxy<#vtable>> {
                match #ident::__plugin_proxy(object) {
                    ::core::option::Option::Some(proxy) => ::core::option::Option::Some(&proxy.raw),
                    ::core::option::Option::None => ::core::option::Option::None,
                }
            }

            fn host_info() -> &'static #private::PluginInfo {
                static INFO: #private::OnceLock<#private::PluginInfo> = #private::OnceLock::new();
                #private::host_info(&INFO, <dyn #ident as #private::PluginInterface>::DESCRIPTOR)
            }
        }

        // Objects cross the serialised path whole, as arguments and
        // results (see the dispatch arms); inside another value, never.
        impl #private::Wire for #private::Box<dyn #ident> {
            fn wire_encode<__S: #private::Serializer>(&self, _: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                #private::refuse_encode::<__S>(#box_name)
            }

            fn wire_decode<'__de, __D: #private::Deserializer<'__de>>(_: __D) -> ::core::result::Result<Self, __D::Error> {
                #private::refuse_decode::<__D, Self>(#box_name)
            }
        }

        // SAFETY: crosses as an object of the trait, whose vtable the
        // sending side instantiates and the receiving side checks.
        unsafe impl #private::PluginData for #private::Box<dyn #ident> {
            type Abi = #private::RObject;
            const LAYOUT: &'static #private::TypeLayout = &#private::TypeLayout::framework::<#private::RObject>(
                "Box",
                &[<dyn #ident as #private::ObjectInterface>::OBJECT],
            );
            const NATIVE: &'static #private::TypeLayout = &#private::TypeLayout::object::<Self>("Box<dyn>");

            fn lower(self, to: &#private::Lower<'_>) -> #private::RObject {
                #private::lower_box::<dyn #ident>(self, to)
            }

            unsafe fn lift(
                abi: #private::RObject,
                cx: &#private::Lift<'_>,
            ) -> ::core::result::Result<Self, #private::Invalid> {
                // SAFETY: forwarded from the caller.
                unsafe { #private::lift_box::<dyn #ident>(abi, cx) }
            }
        }
    };
    let vtable_doc = format!(
        "Function table of [`{name}`] as it crosses the plugin boundary: a prefix (size, method count, drop) and one `extern \"C\"` function per method. Generated by `#[plugin_trait]`."
    );
    let proxy_doc = format!(
        "A [`{name}`] instance in a plugin library. Implements [`{name}`]; each `try_` method returns what a call can yield instead of its value (a panic in the plugin, a call after unload, a method an older plugin lacks, a returned value this side refuses) as a `CallError`, where the trait's method panics with its message. Keeps its library loaded while it lives, unless a `PluginManager` unloads it; a manager's proxies follow reloads. Generated by `#[plugin_trait]`."
    );

    // The trait gets one hidden method with a default body, which only
    // its proxy overrides: so a `dyn Trait` that is a proxy can be handed
    // back to the library its object lives in instead of being wrapped.
    let unload = format_ident!("unload_{}", snake_case(&name), span = ident.span());
    let unload_doc = format!(
        "Frees the `{name}` registrations in `array` and the array itself, for a host that \
         called the library's registration functions itself.\n\n\
         # Safety\n\n\
         `array` must be null, or either plugin-owned (returned by \
         `plugin_register_all_{name}_v1` of `library`, not freed yet) or host-owned (made by \
         `RegistrationArray::host_owned` from registrations that makers of `library` returned, \
         none freed yet). `library` must stay loaded for the call, and nothing may use the \
         registrations afterwards. See `plugin_interface::unload_registrations`."
    );
    let mut item = item.clone();
    item.items.push(syn::parse_quote! {
        #[doc(hidden)]
        fn __plugin_proxy(&self) -> ::core::option::Option<&#proxy> {
            ::core::option::Option::None
        }
    });
    quote! {
        #item

        #[doc = #vtable_doc]
        #[repr(C)]
        #[allow(missing_debug_implementations)]
        #vis struct #vtable {
            /// Size, method count and the instance's destructor.
            pub __prefix: #private::VTablePrefix,
            #(#fields)*
        }

        #[allow(clippy::needless_lifetimes)]
        impl #vtable {
            #(#shims)*

            #(#absent_stubs)*
        }

        // SAFETY: every slot is the shim of its method for `__T`, and each
        // shim treats the instance pointer as a `Box<__T>`.
        unsafe impl<__T: #ident + 'static> #private::VTableFor<__T> for dyn #ident {
            const VTABLE: &'static #vtable = &#vtable {
                __prefix: #private::vtable_prefix::<#vtable, __T>(#method_count),
                #(#slots,)*
            };

            #[allow(unused_mut, unused_variables, clippy::needless_borrow)]
            unsafe fn dispatch(
                __this: *mut #private::c_void,
                __method: u32,
                __args: &[u8],
                __peer: ::core::option::Option<&#private::Arc<dyn #private::Peer>>,
            ) -> ::core::result::Result<#private::Vec<u8>, #private::DispatchError> {
                match __method {
                    #(#dispatch_arms)*
                    _ => ::core::result::Result::Err(#private::DispatchError::NoSuchMethod(__method)),
                }
            }
        }

        // SAFETY: `VTable` is the generated `#[repr(C)]` vtable, described
        // by `DESCRIPTOR` method by method.
        unsafe impl #private::PluginInterface for dyn #ident {
            const DESCRIPTOR: &'static #private::TraitDescriptor = &#private::TraitDescriptor::new(
                #name,
                ::core::env!("CARGO_PKG_NAME"),
                ::core::env!("CARGO_PKG_VERSION"),
                ::core::mem::size_of::<#vtable>(),
                #send_flag,
                #sync_flag,
                &[#(#descriptors),*],
            );
            type VTable = #vtable;
            type Proxy = #proxy;

            const ABSENT: &'static #vtable = &#vtable {
                __prefix: #private::absent_prefix::<#vtable>(#method_count),
                #(#absent_slots,)*
            };

            fn unmaker_counter() -> &'static #private::AtomicU64 {
                static COUNTER: #private::AtomicU64 = #private::AtomicU64::new(0);
                &COUNTER
            }

            fn wrap(raw: #private::RawProxy<#vtable>) -> #proxy {
                #proxy { raw }
            }

            #private::if_host! {
                fn remote_vtable() -> &'static #vtable {
                    <dyn #ident as #private::VTableFor<#private::Remote<dyn #ident>>>::VTABLE
                }
            }
        }

        #[doc = #unload_doc]
        #[allow(dead_code)]
        #vis unsafe fn #unload(
            library: &impl #private::LibrarySymbols,
            array: *mut #private::RegistrationArray,
        ) -> ::core::result::Result<(), #private::PluginError> {
            // SAFETY: forwarded from the caller, for this trait.
            unsafe { #private::unload_registrations(library, #name, array) }
        }

        #[doc = #proxy_doc]
        #vis struct #proxy {
            raw: #private::RawProxy<#vtable>,
        }

        impl #proxy {
            /// Where this instance came from: library, trait and entry.
            pub fn info(&self) -> #private::PluginInfo {
                self.raw.info()
            }

            #(#try_methods)*

            #(#defaults)*
        }

        impl #ident for #proxy {
            #(#trait_methods)*

            fn __plugin_proxy(&self) -> ::core::option::Option<&#proxy> {
                ::core::option::Option::Some(self)
            }
        }

        // An object of the other side of a serialised connection (an
        // instance in a worker process, or the host's object seen from
        // one): every method crosses the serialised path.
        #[allow(unused_mut, unused_variables, clippy::needless_borrow)]
        impl #ident for #private::Remote<dyn #ident> {
            #(#remote_methods)*
        }

        #clone

        impl ::core::fmt::Debug for #proxy {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Debug::fmt(&self.raw, f)
            }
        }

        #send
        #sync

        #(#borrow_checks)*

        #objects

        #known
    }
}

fn shim_ident(method: &Method<'_>) -> syn::Ident {
    format_ident!("__shim_{}", method.ident)
}

/// The FFI type of an argument.
fn arg_ffi(kind: &ArgKind) -> TokenStream {
    let private = Private;
    match kind {
        ArgKind::Str => quote!(#private::RStr<'_>),
        ArgKind::Slice(elem) => quote!(#private::RSlice<'_, #elem>),
        ArgKind::Ref(ty) => quote!(*const #ty),
        ArgKind::Object { .. } => quote!(#private::RObject),
        ArgKind::Closure(_) => quote!(#private::Callback),
        ArgKind::Owned(ty) => types::abi(ty),
    }
}

/// What a shim returns: `Returned<T>` of the FFI return type.
fn returned(kind: &RetKind) -> TokenStream {
    let private = Private;
    let value = match kind {
        RetKind::Unit => quote!(#private::Unit),
        RetKind::Str => quote!(#private::RStr<'static>),
        RetKind::Owned(ty) => types::abi(ty),
    };
    quote!(#private::Returned<#value>)
}

fn this_ptr(method: &Method<'_>) -> TokenStream {
    let private = Private;
    if method.mutable {
        quote!(*mut #private::c_void)
    } else {
        quote!(*const #private::c_void)
    }
}

fn vtable_field(method: &Method<'_>) -> TokenStream {
    let ident = method.ident;
    let this = this_ptr(method);
    let args = method.args.iter().map(|arg| arg_ffi(&arg.kind));
    let ret = returned(&method.ret);
    let doc = format!("`{}`", method.signature());
    quote! {
        #[doc = #doc]
        pub #ident: unsafe extern "C" fn(#this, #(#args,)*) -> #ret,
    }
}

fn shim(method: &Method<'_>, trait_ident: &syn::Ident) -> TokenStream {
    let private = Private;
    let ident = method.ident;
    let shim = shim_ident(method);
    let this = this_ptr(method);
    let params = method.args.iter().map(|arg| {
        let name = syn::Ident::new(&arg.ident.to_string(), arg.ty.span());
        let ty = arg_ffi(&arg.kind);
        quote!(#name: #ty)
    });
    // Arguments lent for the call are received into locals first.
    let receive = method.args.iter().map(|arg| {
        let name = &arg.ident;
        let local = format_ident!("__lent_{}", name);
        match &arg.kind {
            ArgKind::Object { path, .. } => {
                let object = types::object(path);
                let text = name.to_string();
                quote! {
                    let mut #local = #private::argument(
                        // SAFETY: the caller lent the object for this
                        // call, with this trait (layout-checked).
                        unsafe { <#object as #private::ObjectInterface>::borrow(#name) },
                        #text,
                    );
                }
            }
            ArgKind::Closure(closure) => {
                let inputs = &closure.inputs;
                let values: Vec<_> = (0..inputs.len())
                    .map(|i| format_ident!("__a{}", i))
                    .collect();
                let args = closure.args_tuple();
                let output = closure.output();
                let binding = if closure.mutable {
                    quote!(let mut)
                } else {
                    quote!(let)
                };
                quote! {
                    #binding #local = move |#(#values: #inputs),*| -> #output {
                        // SAFETY: the caller lent the closure for this call,
                        // with these types (layout-checked); this local
                        // closure does not outlive the call.
                        unsafe { #name.invoke::<#args, #output>((#(#values,)*)) }
                    };
                }
            }
            _ => TokenStream::new(),
        }
    });
    let values = method.args.iter().map(|arg| {
        let name = &arg.ident;
        let local = format_ident!("__lent_{}", name);
        let text = name.to_string();
        match &arg.kind {
            ArgKind::Str => quote!(#name.as_str()),
            ArgKind::Slice(_) => quote!(#name.as_slice()),
            // SAFETY (of the generated block): the caller's value, alive
            // for the call, in the layout the check compared.
            ArgKind::Ref(_) => quote!(unsafe { &*#name }),
            ArgKind::Object {
                path,
                mutable: false,
            } => {
                let object = types::object(path);
                quote!(<#object as #private::ObjectInterface>::borrowed(&#local))
            }
            ArgKind::Object {
                path,
                mutable: true,
            } => {
                let object = types::object(path);
                quote!(<#object as #private::ObjectInterface>::borrowed_mut(&mut #local))
            }
            ArgKind::Closure(closure) if closure.mutable => quote!(&mut #local),
            ArgKind::Closure(_) => quote!(&#local),
            // Arguments passed by value are in the host's memory: adopted
            // when this side allocates through the host's, else copied.
            ArgKind::Owned(ty) => {
                let lift = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::lift);
                // SAFETY (of the generated block): the caller lowered the
                // argument from the same type, and gives it up.
                quote!(#private::argument(unsafe { #lift(#name, &#private::Lift::local()) }, #text))
            }
        }
    });
    let instance = if method.mutable {
        quote!(#private::instance_mut::<__T>(__this))
    } else {
        quote!(#private::instance::<__T>(__this))
    };
    let call = quote!(<__T as #trait_ident>::#ident(#instance, #(#values),*));
    let ret = returned(&method.ret);
    let body = match &method.ret {
        RetKind::Unit => quote!({ #(#receive)* #call; #private::Unit::VALUE }),
        RetKind::Str => quote!({ #(#receive)* #private::returned_str(#call) }),
        RetKind::Owned(ty) => {
            let lower = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::lower);
            quote!({ #(#receive)* #lower(#call, &#private::Lower::host()) })
        }
    };
    quote! {
        #[allow(unused_mut)]
        unsafe extern "C" fn #shim<__T: #trait_ident + 'static>(__this: #this, #(#params,)*) -> #ret {
            // SAFETY: the instance pointer is a `Box<__T>` made for this
            // vtable, and the caller lowered the arguments from the same
            // interface.
            unsafe { #private::call(|| #body) }
        }
    }
}

/// The method's arm of the serialised path: decode each argument as its
/// owned form (an object or closure as a stand-in calling the peer), call,
/// encode the result (a returned object kept for the peer).
fn dispatch_arm(method: &Method<'_>, index: usize, trait_ident: &syn::Ident) -> TokenStream {
    let private = Private;
    let index = index as u32;
    let ident = method.ident;
    let reads = method.args.iter().map(|arg| {
        let name = &arg.ident;
        let text = name.to_string();
        match &arg.kind {
            ArgKind::Object { path, mutable } => {
                let object = types::object(path);
                let read = quote!(<#object as #private::ObjectInterface>::read_lent(&mut __reader, __peer, #text)?);
                if *mutable {
                    quote!(let mut #name = #read;)
                } else {
                    quote!(let #name = #read;)
                }
            }
            ArgKind::Closure(closure) => {
                let args = closure.args_tuple();
                let output = closure.output();
                quote!(let #name = #private::RemoteFn::<#args, #output>::read(&mut __reader, __peer, #text)?;)
            }
            ArgKind::Owned(ty) if types::whole_object(ty).is_some() => {
                let (holder, path) = types::whole_object(ty).unwrap_or_else(|| unreachable!());
                let object = types::object(&path);
                let read = match holder {
                    types::Holder::Box => quote!(read_box),
                    types::Holder::Arc => quote!(read_arc),
                };
                quote!(let #name: #ty = <#object as #private::ObjectInterface>::#read(&mut __reader, __peer, #text)?;)
            }
            _ => {
                let ty = match &arg.kind {
                    ArgKind::Str => quote!(#private::String),
                    ArgKind::Slice(elem) => quote!(#private::Vec<#elem>),
                    ArgKind::Ref(ty) | ArgKind::Owned(ty) => quote!(#ty),
                    ArgKind::Object { .. } | ArgKind::Closure(_) => TokenStream::new(),
                };
                let read = quote_spanned!(arg.ty.span()=> <#ty as #private::PluginData>::wire_argument);
                quote!(let #name: #ty = #read(&mut __reader, #text)?;)
            }
        }
    });
    let values = method.args.iter().map(|arg| {
        let name = &arg.ident;
        match &arg.kind {
            ArgKind::Owned(_) => quote!(#name),
            ArgKind::Object { path, mutable } => {
                let object = types::object(path);
                if *mutable {
                    quote!(<#object as #private::ObjectInterface>::remote_mut(&mut #name))
                } else {
                    quote!(<#object as #private::ObjectInterface>::remote_ref(&#name))
                }
            }
            ArgKind::Closure(closure) => {
                let values: Vec<_> = (0..closure.inputs.len())
                    .map(|i| format_ident!("__a{}", i))
                    .collect();
                let inputs = &closure.inputs;
                let output = closure.output();
                let call =
                    quote!(|#(#values: #inputs),*| -> #output { #name.call((#(#values,)*)) });
                if closure.mutable {
                    quote!(&mut #call)
                } else {
                    quote!(&#call)
                }
            }
            _ => quote!(&#name),
        }
    });
    let instance = if method.mutable {
        quote!(#private::instance_mut::<__T>(__this))
    } else {
        quote!(#private::instance::<__T>(__this))
    };
    let call = quote! {
        // SAFETY: per the contract, a live instance of `__T`, not
        // borrowed elsewhere.
        <__T as #trait_ident>::#ident(unsafe { #instance }, #(#values),*)
    };
    let result = match &method.ret {
        RetKind::Unit => quote!({ #call; ::core::result::Result::Ok(#private::Vec::new()) }),
        RetKind::Str => quote!(#private::encode_str(#call)),
        RetKind::Owned(ty) => match types::whole_object(ty) {
            Some((types::Holder::Box, path)) => {
                let object = types::object(&path);
                quote!(<#object as #private::ObjectInterface>::write_box(__peer, #call))
            }
            Some((types::Holder::Arc, path)) => {
                let object = types::object(&path);
                quote!(<#object as #private::ObjectInterface>::write_arc(__peer, #call))
            }
            None => {
                let encode = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::wire_result);
                quote!(#encode(&#call))
            }
        },
    };
    quote! {
        #index => {
            let mut __reader = #private::ArgReader::new(__args);
            #(#reads)*
            __reader.finish()?;
            #result
        }
    }
}

/// The host-side stand-in for a method a plugin built against an older
/// interface lacks: it frees its arguments and marks the slot absent.
fn absent_stub(method: &Method<'_>) -> TokenStream {
    let private = Private;
    let stub = format_ident!("__absent_{}", method.ident);
    let this = this_ptr(method);
    let params = method.args.iter().map(|arg| arg_ffi(&arg.kind));
    let ret = returned(&method.ret);
    quote! {
        unsafe extern "C" fn #stub(_: #this, #(_: #params,)*) -> #ret {
            #private::absent()
        }
    }
}

/// The trait's default body of a method, as a private method of the proxy:
/// what a plugin built against an older interface without the method runs.
fn default_method(method: &Method<'_>) -> Option<TokenStream> {
    let body = method.item.default.as_ref()?;
    let mut sig = method.item.sig.clone();
    sig.ident = format_ident!("__default_{}", method.ident);
    Some(quote! {
        #[allow(clippy::unused_self)]
        #sig #body
    })
}

/// What a proxy method returns when the call fails: the error
/// (`try_` methods) or a panic carrying it (the trait's own methods).
#[derive(Clone, Copy)]
enum OnFailure {
    Return,
    Raise,
}

/// The call a proxy method makes: entering the instance, lowering the
/// arguments, calling through the vtable, testing the failure the shim
/// returned and lifting the value into host memory, all while the call
/// keeps the instance, its vtable and its library alive.
fn proxy_call(method: &Method<'_>, slot: usize, on_failure: OnFailure) -> TokenStream {
    let private = Private;
    let slot = slot as u32;
    let ident = method.ident;
    let name = ident.to_string();
    // Objects and closures lent for the call are wrapped into locals
    // that outlive it.
    let lending = method
        .args
        .iter()
        .any(|arg| matches!(arg.kind, ArgKind::Object { .. } | ArgKind::Closure(_)))
        .then(|| quote!(let __lending = #private::Lending::start();));
    let lend = method.args.iter().map(|arg| {
        let name = &arg.ident;
        let local = format_ident!("__lent_{}", name);
        let slot = format_ident!("__slot_{}", name);
        match &arg.kind {
            ArgKind::Object { path, mutable } => {
                let object = types::object(path);
                let (lend, reference) = if *mutable {
                    (quote!(lend_mut), quote!(&mut))
                } else {
                    (quote!(lend), quote!(&))
                };
                // The object is lent for the call only: its lifetime is
                // erased for the wrapper, which the call outlives.
                quote! {
                    let mut #slot = #private::MaybeUninit::<#private::HostObject<#object>>::uninit();
                    let #local = <#object as #private::ObjectInterface>::#lend(
                        // SAFETY: only the lifetime changes; the wrapper is
                        // used during the call, which the borrow outlives.
                        unsafe { ::core::mem::transmute::<#reference (#object + '_), #reference (#object + 'static)>(#name) },
                        &mut #slot,
                        &__to,
                    );
                }
            }
            ArgKind::Closure(closure) => {
                let closure_local = format_ident!("__closure_{}", name);
                let values: Vec<_> = (0..closure.inputs.len()).map(|i| format_ident!("__a{}", i)).collect();
                let args = closure.args_tuple();
                let output = closure.output();
                quote! {
                    let mut #closure_local = |(#(#values,)*): #args| -> #output { #name(#(#values),*) };
                    let #local = #private::Callback::lend::<#args, #output, _>(&mut #closure_local);
                }
            }
            _ => TokenStream::new(),
        }
    });
    let values = method.args.iter().map(|arg| {
        let name = &arg.ident;
        let local = format_ident!("__lent_{}", name);
        match &arg.kind {
            ArgKind::Str => quote!(#private::RStr::new(#name)),
            ArgKind::Slice(_) => quote!(#private::RSlice::from_slice(#name)),
            ArgKind::Ref(_) => quote!(::core::ptr::from_ref(#name)),
            ArgKind::Object { .. } | ArgKind::Closure(_) => quote!(#local),
            ArgKind::Owned(ty) => {
                let lower = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::lower);
                quote!(#lower(#name, &__to))
            }
        }
    });
    let refused = match on_failure {
        OnFailure::Return => quote!(::core::result::Result::Err(__call.invalid(#name, __invalid))),
        OnFailure::Raise => quote!(#private::raise(__call.invalid(#name, __invalid))),
    };
    let value = match &method.ret {
        RetKind::Unit => quote!(()),
        // The string lives in the instance, which outlives `&self`.
        RetKind::Str => quote!(
            // SAFETY: without a failure, the shim initialised the value.
            __call.keep_str(unsafe { __ret.value.assume_init() }.as_str())
        ),
        RetKind::Owned(_) => quote!(__value),
    };
    let ok = |value: TokenStream| match on_failure {
        OnFailure::Return => quote!(::core::result::Result::Ok(#value)),
        OnFailure::Raise => value,
    };
    let failed = match on_failure {
        OnFailure::Return => quote!(::core::result::Result::Err(
            // SAFETY: the failure this call just returned, taken once.
            unsafe { __call.failed(#name, __ret.failure) }
        )),
        OnFailure::Raise => quote!(
            // SAFETY: the failure this call just returned, taken once.
            unsafe { __call.raise_failed(#name, __ret.failure) }
        ),
    };
    let done = match (on_failure, &method.ret) {
        (OnFailure::Raise, RetKind::Unit) => TokenStream::new(),
        // A value this side refuses to build is an error like a failure.
        (_, RetKind::Owned(ty)) => {
            let ok = ok(value);
            let lift = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::lift);
            quote! {
                // SAFETY: without a failure the shim initialised the value,
                // lowered from the same type by the plugin.
                match unsafe { #lift(__ret.value.assume_init(), &__call.lift(#name)) } {
                    ::core::result::Result::Ok(__value) => #ok,
                    ::core::result::Result::Err(__invalid) => #refused,
                }
            }
        }
        _ => ok(value),
    };
    let body = quote! {{
        #lending
        // Where the arguments go: objects of the callee's own are handed
        // back to it rather than wrapped.
        let __to = __call.lower_to();
        #(#lend)*
        // SAFETY: the instance and vtable come from one registration (or
        // object) checked against this interface, alive while `__call`
        // lives; the arguments are lowered from the method's types.
        let __ret = unsafe { (__call.vtable().#ident)(__call.instance(), #(#values,)*) };
        if __ret.failure.is_null() { #done } else { #failed }
    }};
    if method.item.default.is_none() {
        // Without a default body, the absent stand-in in the vtable of a
        // plugin built against an older interface reports the missing
        // method through the failure, at no cost to the call.
        return quote!(self.raw.call(|__call| #body));
    }
    // With one, the slot count is checked first and the arguments handed
    // back, so that the body runs after the call, outside it.
    let default = format_ident!("__default_{}", method.ident);
    let names: Vec<_> = method.args.iter().map(|arg| &arg.ident).collect();
    let ran_default = ok(quote!(self.#default(#(#names),*)));
    quote! {
        match self.raw.call(|__call| {
            if #slot >= __call.slots() {
                return ::core::result::Result::Err((#(#names,)*));
            }
            ::core::result::Result::Ok(#body)
        }) {
            ::core::result::Result::Ok(__result) => __result,
            ::core::result::Result::Err((#(#names,)*)) => #ran_default,
        }
    }
}

fn try_method(method: &Method<'_>, slot: usize, trait_ident: &syn::Ident) -> TokenStream {
    let private = Private;
    let try_ident = format_ident!("try_{}", method.ident);
    let receiver = method.receiver();
    let params = &method.args;
    let name = method.ident.to_string();
    let ret_ty = match (&method.ret, &method.item.sig.output) {
        (RetKind::Unit, _) | (_, syn::ReturnType::Default) => quote!(()),
        (RetKind::Str, _) => quote!(&str),
        (RetKind::Owned(_), syn::ReturnType::Type(_, ty)) => quote!(#ty),
    };
    let call = proxy_call(method, slot, OnFailure::Return);
    let doc = format!(
        "Calls [`{trait_ident}::{name}`] on the plugin instance; a panic in the plugin comes back as `CallError::Panicked`, a call after a manager unloaded the library as `CallError::Unloaded`, a returned value this side refuses as `CallError::InvalidValue`. A plugin built against an older interface without the method runs the trait's default body, or returns `CallError::MethodMissing` when there is none."
    );
    quote! {
        #[doc = #doc]
        #[inline]
        pub fn #try_ident(#receiver, #(#params),*) -> ::core::result::Result<#ret_ty, #private::CallError> {
            #call
        }
    }
}

/// The trait's method on the proxy: the same call as the `try_` method,
/// with a failure raised where it is found rather than returned first, so
/// that the value travels alone.
fn trait_method(method: &Method<'_>, slot: usize) -> TokenStream {
    let ident = method.ident;
    let receiver = method.receiver();
    let params = &method.args;
    let output = &method.item.sig.output;
    let docs = method.docs();
    let call = proxy_call(method, slot, OnFailure::Raise);
    quote! {
        #(#docs)*
        #[inline]
        fn #ident(#receiver, #(#params),*) #output {
            #call
        }
    }
}

/// The method of the other side's object: the arguments encoded as the
/// dispatch entry reads them (borrowed ones as their owned form; objects
/// and closures kept for the call, or given, with their ids sent), the
/// result decoded (a returned object as a stand-in of the other side's).
/// A returned `&str`, which would borrow from the other process, fails the
/// call, naming the method.
fn remote_method(method: &Method<'_>, index: usize) -> TokenStream {
    let private = Private;
    let index = index as u32;
    let ident = method.ident;
    let name = ident.to_string();
    let receiver = method.receiver();
    let params = &method.args;
    let output = &method.item.sig.output;
    let names: Vec<_> = method.args.iter().map(|arg| &arg.ident).collect();
    if matches!(method.ret, RetKind::Str) {
        return quote! {
            fn #ident(#receiver, #(#params),*) #output {
                let _ = (#(&#names,)*);
                self.__refuse(#name, "a returned `&str`")
            }
        };
    }
    // Types are named through `<T as PluginData>`, spanned at the user's
    // type, as in the dispatch arm: one error per type that is not
    // carried.
    let pushes = method.args.iter().map(|arg| {
        let name = &arg.ident;
        match &arg.kind {
            ArgKind::Str => quote!(__args.str(#name);),
            ArgKind::Slice(elem) => {
                let append = quote_spanned!(arg.ty.span()=> <#elem as #private::PluginData>::wire_append_slice);
                quote!(#append(#name, __args.bytes());)
            }
            ArgKind::Ref(ty) => {
                let append = quote_spanned!(arg.ty.span()=> <#ty as #private::PluginData>::wire_append);
                quote!(#append(#name, __args.bytes());)
            }
            ArgKind::Owned(ty) => match types::whole_object(ty) {
                Some((types::Holder::Box, path)) => {
                    let object = types::object(&path);
                    quote!(<#object as #private::ObjectInterface>::send_box(&mut __args, #name);)
                }
                Some((types::Holder::Arc, path)) => {
                    let object = types::object(&path);
                    quote!(<#object as #private::ObjectInterface>::send_arc(&mut __args, #name);)
                }
                None => {
                    let append = quote_spanned!(arg.ty.span()=> <#ty as #private::PluginData>::wire_append);
                    quote!(#append(&#name, __args.bytes());)
                }
            },
            ArgKind::Object { path, mutable } => {
                let object = types::object(path);
                // The object is kept for the call only: its lifetime is
                // erased for the table, which forgets it when the call
                // returns.
                if *mutable {
                    quote!(<#object as #private::ObjectInterface>::send_lent_mut(&mut __args, 
                        // SAFETY: only the lifetime changes; the object is
                        // forgotten when the call ends, before the borrow.
                        unsafe { ::core::mem::transmute::<&mut (#object + '_), &mut (#object + 'static)>(#name) }
                    );)
                } else {
                    quote!(<#object as #private::ObjectInterface>::send_lent(&mut __args, 
                        // SAFETY: only the lifetime changes; the object is
                        // forgotten when the call ends, before the borrow.
                        unsafe { ::core::mem::transmute::<&(#object + '_), &(#object + 'static)>(#name) }
                    );)
                }
            }
            ArgKind::Closure(closure) => {
                let local = format_ident!("__closure_{}", name);
                let args = closure.args_tuple();
                let output = closure.output();
                quote!(__args.lend_fn::<#args, #output>(&mut #local);)
            }
        }
    });
    // Closures are wrapped before the arguments are: they outlive the
    // table entries that lend them, which the arguments' drop forgets,
    // even when a later argument unwinds.
    let closures = method.args.iter().filter_map(|arg| {
        let ArgKind::Closure(closure) = &arg.kind else {
            return None;
        };
        let name = &arg.ident;
        let local = format_ident!("__closure_{}", name);
        let values: Vec<_> = (0..closure.inputs.len())
            .map(|i| format_ident!("__a{}", i))
            .collect();
        let args = closure.args_tuple();
        let output = closure.output();
        Some(quote!(let mut #local = |(#(#values,)*): #args| -> #output { #name(#(#values),*) };))
    });
    let decode = match &method.ret {
        RetKind::Owned(ty) => match types::whole_object(ty) {
            Some((types::Holder::Box, path)) => {
                let object = types::object(&path);
                quote!(<#object as #private::ObjectInterface>::decode_box)
            }
            Some((types::Holder::Arc, path)) => {
                let object = types::object(&path);
                quote!(<#object as #private::ObjectInterface>::decode_arc)
            }
            None => {
                let decode =
                    quote_spanned!(ty.span()=> <#ty as #private::PluginData>::wire_decode_all);
                quote!(|__bytes, _, _| #decode(__bytes))
            }
        },
        RetKind::Unit | RetKind::Str => {
            quote!(|__bytes, _, _| <() as #private::PluginData>::wire_decode_all(__bytes))
        }
    };
    quote! {
        fn #ident(#receiver, #(#params),*) #output {
            #(#closures)*
            let mut __args = self.__args();
            #(#pushes)*
            self.__call(#index, #name, __args, #decode)
        }
    }
}

/// The method's descriptor: name, signature, receiver and the layout of
/// every argument and of the return value.
fn method_descriptor(method: &Method<'_>) -> TokenStream {
    let private = Private;
    let name = method.ident.to_string();
    let signature = method.signature();
    let mutable = method.mutable;
    let args = method.args.iter().map(|arg| {
        let name = arg.ident.to_string();
        let layout = match &arg.kind {
            ArgKind::Str => quote!(#private::known::RSTR),
            ArgKind::Slice(elem) => {
                let inner = types::native(elem);
                quote!(&#private::TypeLayout::framework::<#private::RSlice<'static, u8>>("RSlice", &[#inner]))
            }
            ArgKind::Ref(ty) => {
                let inner = types::native(ty);
                quote!(&#private::TypeLayout::framework::<*const u8>("Ref", &[#inner]))
            }
            ArgKind::Object { path, mutable } => {
                let object = types::object(path);
                let name = if *mutable { "RefMut" } else { "Ref" };
                quote!(&#private::TypeLayout::framework::<#private::RObject>(#name, &[<#object as #private::ObjectInterface>::OBJECT]))
            }
            ArgKind::Closure(closure) => {
                let name = if closure.mutable { "FnMut" } else { "Fn" };
                let inputs = closure.inputs.iter().map(types::layout);
                let output = match &closure.output {
                    Some(ty) => types::layout(ty),
                    None => quote!(#private::known::UNIT),
                };
                quote!(&#private::TypeLayout::framework::<#private::Callback>(#name, &[#(#inputs,)* #output]))
            }
            ArgKind::Owned(ty) => types::layout(ty),
        };
        quote!(#private::ArgLayout { name: #private::RStr::new(#name), ty: #layout })
    });
    let ret = match &method.ret {
        RetKind::Unit => quote!(#private::known::NOTHING),
        RetKind::Str => quote!(#private::known::RSTR),
        RetKind::Owned(ty) => types::layout(ty),
    };
    quote!(#private::MethodDescriptor::new(#name, #signature, #mutable, &[#(#args),*], #ret))
}

/// `Greeter` -> `greeter`, `KeyValueStore` -> `key_value_store`,
/// `HTTPServer` -> `http_server`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && index > 0 {
            let before = chars[index - 1];
            let after_is_lower = chars.get(index + 1).is_some_and(|next| next.is_lowercase());
            if before.is_lowercase()
                || before.is_ascii_digit()
                || (before.is_uppercase() && after_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn trait_names_become_snake_case() {
        assert_eq!(snake_case("Greeter"), "greeter");
        assert_eq!(snake_case("KeyValueStore"), "key_value_store");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("Zoo2Keeper"), "zoo2_keeper");
    }
}
